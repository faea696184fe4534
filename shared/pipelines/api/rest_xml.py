"""The rest-xml protocol (S3) on the server side: :class:`pipelines.api.codec.ModelCodec` with
XML bodies (:mod:`pipelines.api.xml_shapes`).

Two things S3's wire has that botocore's model does not say, because its client never reads
them: the root element of an output document (``ListBucketResult`` for ListObjectsV2, ...;
the Smithy model's ``@xmlName``, dropped from botocore's JSON) and the service's XML namespace.
A service passes them in (:data:`pipelines.api.s3.S3_WIRE`); an operation without a root name
gets ``<Operation>Result``. An operation listed as *unwrapped* (S3's GetBucketLocation) writes
its single body member as the root element itself. Errors are S3's ``<Error><Code>``
documents, which botocore's rest-xml parser reads (a HEAD response has no body, so the SDK
reports the status code).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from botocore.model import OperationModel, Shape

from pipelines.api.codec import ModelCodec, body_members
from pipelines.api.errors import ServiceError
from pipelines.api.xml_shapes import MalformedXml, element, parse_document, read_element, structure_content
from pipelines.errors import PipelinesError

XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'


@dataclass(frozen=True)
class XmlWire:
    """What a rest-xml service's wire adds to its botocore model."""

    namespace: str | None = None
    roots: Mapping[str, str] = field(default_factory=dict)  # operation -> output root element
    unwrapped: frozenset[str] = frozenset()  # operations whose one body member is the root


class RestXmlCodec(ModelCodec):
    """Routing, request reading and response writing for one rest-xml service."""

    protocol = "rest-xml"
    content_type = "application/xml"
    request_id_header = "x-amz-request-id"

    def __init__(self, service_name: str, wire: XmlWire | None = None) -> None:
        super().__init__(service_name)
        self.wire = wire or XmlWire()

    def read_document(self, operation: OperationModel, shape: Shape, body: bytes) -> Any:
        try:
            root = parse_document(body)
        except MalformedXml as exc:
            raise ServiceError(
                "MalformedXML",
                f"The XML you provided was not well-formed or did not validate against our published schema: {exc}",
            ) from exc
        return read_element(shape, root)

    def write_document(
        self, operation: OperationModel, shape: Shape | None, value: Any, request_id: str
    ) -> bytes | None:
        if shape is None:
            return None
        namespace = f" xmlns={quoteattr(self.wire.namespace)}" if self.wire.namespace else ""
        output = operation.output_shape
        if output is not None and shape is output:
            members = body_members(shape)
            if not members:
                return None
            root = self.wire.roots.get(operation.name, f"{operation.name}Result")
            if operation.name in self.wire.unwrapped and len(members) == 1:
                ((name, member),) = members.items()
                text = "" if value.get(name) is None else escape(str(value[name]))
                document = f"<{root}{namespace}>{text}</{root}>"
            else:
                attributes, inner = structure_content(shape, value)
                document = f"<{root}{namespace}{attributes}>{inner}</{root}>"
        else:  # a payload member's document, rooted at the member's own name
            assert output is not None, "a payload member belongs to the output shape"
            payload = output.serialization["payload"]
            root = self.wire.roots.get(operation.name, shape.serialization.get("name", payload))
            document = element(
                root, shape, value, "" if shape.serialization.get("xmlNamespace") else namespace
            )
        return (XML_DECLARATION + document).encode()

    def error_body(self, error: PipelinesError, request_id: str) -> bytes:
        return (
            XML_DECLARATION
            + f"<Error><Code>{escape(error.code)}</Code><Message>{escape(error.message)}</Message>"
            f"<RequestId>{escape(request_id)}</RequestId></Error>"
        ).encode()
