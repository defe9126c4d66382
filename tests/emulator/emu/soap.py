"""SOAP 1.1 plumbing for Mercury and DocsVision: read a request's body element, write faults.

Requests are small, so ElementTree is fast enough and, unlike regexes, matches elements by
namespace URI the way a real SOAP stack does (a client may use any prefixes).
"""
import xml.etree.ElementTree as ET

from .common import Response, XML_CT, xesc

SOAP_NS = 'http://schemas.xmlsoap.org/soap/envelope/'


class SoapError(Exception):
    """A request the service rejects with a SOAP fault (client side unless said otherwise)."""

    def __init__(self, msg, name=None, detail=None):
        super().__init__(msg)
        self.name = name
        self.detail = detail        # asmx_fault: the local name of an element inside <detail>


def body_element(data):
    """The first child of soap:Body, or SoapError for anything that is not a SOAP request."""
    if not data:
        raise SoapError('Empty request body')
    try:
        root = ET.fromstring(data)
    except ET.ParseError as e:
        raise SoapError('Malformed XML: %s' % e)
    if root.tag != '{%s}Envelope' % SOAP_NS:
        raise SoapError('Not a SOAP 1.1 Envelope: %s' % root.tag)
    body = root.find('{%s}Body' % SOAP_NS)
    if body is None or len(body) == 0:
        raise SoapError('No element in soap:Body')
    return body[0]


def local(tag):
    return tag.rpartition('}')[2]


def ns(tag):
    return tag[1:].partition('}')[0] if tag.startswith('{') else ''


def child_text(el, qname, inner=None):
    """The stripped text of the first child qname of el (or, with inner, of the first inner
    child of a qname child: the path 'qname/inner'), None when there is none. Walked here with
    plain-name find()s, which stay in C; a path with '/' goes through ElementPath (Python)."""
    if inner is None:
        c = el.find(qname)
    else:
        for o in el.findall(qname):
            c = o.find(inner)
            if c is not None:
                break
        else:
            c = None
    if c is None:
        return None
    return (c.text or '').strip()


def asmx_fault(code, string, status=500, detail=None, detail_ns=''):
    """An ASP.NET asmx fault: soap:Server or soap:Client, the message, an empty detail (or
    one empty element named detail, in namespace detail_ns)."""
    body = ('<?xml version="1.0" encoding="utf-8"?>\n'
            '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            'xmlns:xsd="http://www.w3.org/2001/XMLSchema">\n'
            '  <soap:Body>\n'
            '    <soap:Fault>\n'
            '      <faultcode>soap:%s</faultcode>\n'
            '      <faultstring>%s</faultstring>\n'
            '      %s\n'
            '    </soap:Fault>\n'
            '  </soap:Body>\n'
            '</soap:Envelope>\n') % (code, xesc(string), '<detail />' if not detail else
                                      '<detail><%s xmlns="%s" /></detail>' % (detail, detail_ns))
    return Response(status, XML_CT, body.encode(), kind='xml')
