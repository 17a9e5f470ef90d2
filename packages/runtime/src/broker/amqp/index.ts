export { decodeHeaderTable, encodeHeaders, UNDECODABLE_HEADER_REASON, type TypedFieldValue } from './headers';
export { installAmqplibHeaderDecoder, undecodableHeaders, type UndecodableHeaders } from './amqplib-patch';
