<?xml version="1.0" encoding="UTF-8"?>
<!-- A WFS 2.0 GetFeature answer in GML 3.2, written by hand after the examples of OGC 09-025r2
     (WFS 2.0, §11.3) and OGC 07-036r1 (GML 3.2): two address points in SWEREF 99 TM with the
     URN srsName (authority axis order: northing, easting), and a next link. -->
<wfs:FeatureCollection
    xmlns:wfs="http://www.opengis.net/wfs/2.0"
    xmlns:gml="http://www.opengis.net/gml/3.2"
    xmlns:ad="https://example.se/adress"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    timeStamp="2026-11-24T06:00:00Z"
    numberMatched="3"
    numberReturned="2"
    next="https://wfs.example.se/wfs?SERVICE=WFS&amp;VERSION=2.0.0&amp;REQUEST=GetFeature&amp;TYPENAMES=ad:adress&amp;STARTINDEX=2&amp;COUNT=2">
  <wfs:boundedBy>
    <gml:Envelope srsName="urn:ogc:def:crs:EPSG::3006">
      <gml:lowerCorner>6557000 504000</gml:lowerCorner>
      <gml:upperCorner>6558000 506000</gml:upperCorner>
    </gml:Envelope>
  </wfs:boundedBy>
  <wfs:member>
    <ad:adress gml:id="adress.1001">
      <gml:name>Storgatan 12 B</gml:name>
      <ad:kommunkod>1881</ad:kommunkod>
      <ad:adressomrade>Storgatan</ad:adressomrade>
      <ad:adressplatsnummer>12</ad:adressplatsnummer>
      <ad:bokstavstillagg>B</ad:bokstavstillagg>
      <ad:postnummer>692 31</ad:postnummer>
      <ad:postort>Kumla</ad:postort>
      <ad:position>
        <gml:Point gml:id="p.1001" srsName="urn:ogc:def:crs:EPSG::3006">
          <gml:pos>6557473.331 508229.564</gml:pos>
        </gml:Point>
      </ad:position>
    </ad:adress>
  </wfs:member>
  <wfs:member>
    <ad:adress gml:id="adress.1002">
      <ad:kommunkod>1881</ad:kommunkod>
      <ad:adressomrade>Idrottsvägen</ad:adressomrade>
      <ad:adressplatsnummer>1</ad:adressplatsnummer>
      <ad:bokstavstillagg/>
      <ad:postnummer>69231</ad:postnummer>
      <ad:postort>Kumla</ad:postort>
      <ad:position>
        <gml:Point gml:id="p.1002" srsName="urn:ogc:def:crs:EPSG::3006" srsDimension="3">
          <gml:pos>6556400.0 508000.0 42.0</gml:pos>
        </gml:Point>
      </ad:position>
    </ad:adress>
  </wfs:member>
</wfs:FeatureCollection>
