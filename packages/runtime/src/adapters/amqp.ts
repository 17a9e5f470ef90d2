/**
 * `@lovage/runtime/amqp`: the RabbitMQ broker and its header codec, for code that builds the adapter itself.
 * Importing this module does not load amqplib either: the broker loads it when it first connects.
 */
export { AmqpBroker, type AmqpBrokerOptions } from '../broker/amqp/amqp-broker';
export {
  decodeHeaderTable,
  encodeHeaders,
  installAmqplibHeaderDecoder,
  undecodableHeaders,
  UNDECODABLE_HEADER_REASON,
} from '../broker/amqp';
