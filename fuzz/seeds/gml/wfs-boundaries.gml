<?xml version="1.0" encoding="UTF-8"?>
<!-- A WFS 2.0 GetFeature answer in GML 3.2 with municipality boundaries, written by hand after
     OGC 09-025r2 §11.3 and OGC 07-036r1 §10.5 (MultiSurface of Polygons with exterior and
     interior rings as posList). Coordinates are WGS 84 with the URN srsName, so latitude
     comes first; the second member uses gml:Surface/PolygonPatch and the legacy "EPSG:4326"
     form, which GML writers use with longitude first. -->
<wfs:FeatureCollection
    xmlns:wfs="http://www.opengis.net/wfs/2.0"
    xmlns:gml="http://www.opengis.net/gml/3.2"
    xmlns:ak="https://example.se/kommun"
    numberMatched="2" numberReturned="2" timeStamp="2026-11-24T06:00:00Z">
  <wfs:member>
    <ak:kommun gml:id="kommun.1881">
      <ak:kommunkod>1881</ak:kommunkod>
      <ak:kommunnamn>Kumla</ak:kommunnamn>
      <ak:geometri>
        <gml:MultiSurface gml:id="ms.1881" srsName="urn:ogc:def:crs:EPSG::4326">
          <gml:surfaceMember>
            <gml:Polygon gml:id="pg.1881.1">
              <gml:exterior>
                <gml:LinearRing>
                  <gml:posList>59.0 15.0 59.0 15.3 59.2 15.3 59.2 15.0 59.0 15.0</gml:posList>
                </gml:LinearRing>
              </gml:exterior>
              <gml:interior>
                <gml:LinearRing>
                  <gml:posList>59.05 15.05 59.06 15.05 59.06 15.06 59.05 15.06 59.05 15.05</gml:posList>
                </gml:LinearRing>
              </gml:interior>
            </gml:Polygon>
          </gml:surfaceMember>
          <gml:surfaceMember>
            <gml:Polygon gml:id="pg.1881.2">
              <gml:exterior>
                <gml:LinearRing>
                  <gml:pos>59.1 15.4</gml:pos>
                  <gml:pos>59.1 15.5</gml:pos>
                  <gml:pos>59.15 15.5</gml:pos>
                  <gml:pos>59.1 15.4</gml:pos>
                </gml:LinearRing>
              </gml:exterior>
            </gml:Polygon>
          </gml:surfaceMember>
        </gml:MultiSurface>
      </ak:geometri>
    </ak:kommun>
  </wfs:member>
  <wfs:member>
    <ak:kommun gml:id="kommun.1880">
      <ak:kommunkod>1880</ak:kommunkod>
      <ak:kommunnamn>Örebro</ak:kommunnamn>
      <ak:geometri>
        <gml:Surface gml:id="s.1880" srsName="EPSG:4326">
          <gml:patches>
            <gml:PolygonPatch>
              <gml:exterior>
                <gml:LinearRing>
                  <gml:posList>15.0 59.2 15.3 59.2 15.3 59.4 15.0 59.4 15.0 59.2</gml:posList>
                </gml:LinearRing>
              </gml:exterior>
            </gml:PolygonPatch>
          </gml:patches>
        </gml:Surface>
      </ak:geometri>
    </ak:kommun>
  </wfs:member>
</wfs:FeatureCollection>
