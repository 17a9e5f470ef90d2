/** Conformance suites that every adapter runs in its own tests (`@lovage/runtime/testing`). */
export * from './broker-conformance';
export * from './state-conformance';
export * from './test-broker';
