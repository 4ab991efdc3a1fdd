// The results map: municipality borders and facility points from the registry's own API
// (GeoJSON), drawn as SVG in Web Mercator. No tile server is needed; with one configured
// (a {z}/{x}/{y} URL), its tiles are drawn underneath.

const NS = 'http://www.w3.org/2000/svg';
const W = 800;
const H = 600;

function el(name, attrs = {}, text) {
  const e = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

// Web Mercator at zoom 0: a 256 × 256 world.
function project(lon, lat) {
  const phi = (Math.max(-85, Math.min(85, lat)) * Math.PI) / 180;
  return [((lon + 180) / 360) * 256, ((1 - Math.log(Math.tan(phi) + 1 / Math.cos(phi)) / Math.PI) / 2) * 256];
}

function rings(geometry) {
  if (!geometry) return [];
  if (geometry.type === 'Polygon') return geometry.coordinates;
  if (geometry.type === 'MultiPolygon') return geometry.coordinates.flat();
  return [];
}

/**
 * Draws the map into `svg`.
 * points: [{lat, lon, n, other, title, onClick}]
 * areas: [{geometry, searched, name, lat, lon}]
 * label: the accessible name of the map.
 */
export function drawMap(svg, { points, areas, label, tileUrl }) {
  svg.replaceChildren();
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-labelledby', 'map-title');
  svg.appendChild(el('title', { id: 'map-title' }, label));

  // The extent: the points, or else the areas searched.
  const xs = [];
  const ys = [];
  const add = (lon, lat) => {
    const [x, y] = project(lon, lat);
    xs.push(x);
    ys.push(y);
  };
  for (const p of points) add(p.lon, p.lat);
  if (xs.length === 0) for (const a of areas.filter((a) => a.searched)) for (const r of rings(a.geometry)) for (const [lon, lat] of r) add(lon, lat);
  if (xs.length === 0) {
    // Nothing to show: all of Sweden.
    add(11.0, 55.3);
    add(24.2, 69.1);
  }
  if (xs.length === 1) { xs.push(xs[0]); ys.push(ys[0]); }
  let [minX, maxX, minY, maxY] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  // At least ~3 km across, and a margin around the points.
  const minSpan = 0.01;
  const cx = (minX + maxX) / 2;
  const cy = (minY + maxY) / 2;
  let spanX = Math.max(maxX - minX, minSpan) * 1.25;
  let spanY = Math.max(maxY - minY, minSpan) * 1.25;
  const k = Math.min(W / spanX, H / spanY);
  spanX = W / k;
  spanY = H / k;
  minX = cx - spanX / 2;
  minY = cy - spanY / 2;
  const toScreen = (lon, lat) => {
    const [x, y] = project(lon, lat);
    return [(x - minX) * k, (y - minY) * k];
  };

  if (tileUrl) {
    const z = Math.max(0, Math.min(18, Math.round(Math.log2(k))));
    const size = 256 / 2 ** z;
    const g = el('g', { 'aria-hidden': 'true' });
    for (let tx = Math.floor(minX / size); tx * size < minX + spanX; tx++) {
      for (let ty = Math.floor(minY / size); ty * size < minY + spanY; ty++) {
        if (ty < 0 || ty >= 2 ** z) continue;
        const href = tileUrl.replace('{z}', z).replace('{x}', ((tx % 2 ** z) + 2 ** z) % 2 ** z).replace('{y}', ty);
        g.appendChild(el('image', { href, x: (tx * size - minX) * k, y: (ty * size - minY) * k, width: size * k + 0.5, height: size * k + 0.5 }));
      }
    }
    svg.appendChild(g);
  }

  const land = el('g', { 'aria-hidden': 'true' });
  const names = el('g', { 'aria-hidden': 'true' });
  for (const a of areas) {
    let d = '';
    for (const r of rings(a.geometry)) {
      d += r.map(([lon, lat], i) => {
        const [x, y] = toScreen(lon, lat);
        return `${i ? 'L' : 'M'}${x.toFixed(1)} ${y.toFixed(1)}`;
      }).join('') + 'Z';
    }
    if (!d) continue;
    const path = el('path', { d, class: a.searched ? 'land searched' : 'land', 'fill-rule': 'evenodd' });
    path.appendChild(el('title', {}, a.name));
    land.appendChild(path);
    if (a.lat != null) {
      const [x, y] = toScreen(a.lon, a.lat);
      if (x > 20 && x < W - 20 && y > 20 && y < H - 20) names.appendChild(el('text', { x, y: y - 14, class: 'town' }, a.name));
    }
  }
  svg.appendChild(land);
  svg.appendChild(names);

  const dots = el('g');
  for (const p of points) {
    const [x, y] = toScreen(p.lon, p.lat);
    const g = el('g', { 'data-facility': p.id });
    const c = el('circle', { cx: x.toFixed(1), cy: y.toFixed(1), r: 11, class: p.other ? 'point other' : 'point' });
    c.appendChild(el('title', {}, p.title));
    c.addEventListener('click', p.onClick);
    g.appendChild(c);
    g.appendChild(el('text', { x: x.toFixed(1), y: y.toFixed(1), class: 'label' }, String(p.n)));
    dots.appendChild(g);
  }
  svg.appendChild(dots);
}
