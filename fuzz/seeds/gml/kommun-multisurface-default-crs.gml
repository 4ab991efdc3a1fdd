<?xml version="1.0" encoding="UTF-8"?>
<wfs:FeatureCollection xmlns:wfs="http://www.opengis.net/wfs/2.0" xmlns:gml="http://www.opengis.net/gml/3.2" xmlns:ak="https://example.se/kommun" numberMatched="1" numberReturned="1">
  <wfs:member>
    <ak:kommun gml:id="kommun.1881">
      <ak:kommunkod>1881</ak:kommunkod>
      <ak:yta>
        <gml:MultiSurface gml:id="ms.1881" srsDimension="3">
          <gml:surfaceMember>
            <gml:Polygon gml:id="p.1881">
              <gml:exterior><gml:LinearRing><gml:posList>6545000 500000 0 6545000 515000 0 6562000 515000 0 6562000 500000 0 6545000 500000 0</gml:posList></gml:LinearRing></gml:exterior>
              <gml:interior><gml:LinearRing><gml:pos>6550000 505000 0</gml:pos><gml:pos>6550000 506000 0</gml:pos><gml:pos>6551000 506000 0</gml:pos><gml:pos>6550000 505000 0</gml:pos></gml:LinearRing></gml:interior>
            </gml:Polygon>
          </gml:surfaceMember>
        </gml:MultiSurface>
      </ak:yta>
    </ak:kommun>
  </wfs:member>
</wfs:FeatureCollection>
