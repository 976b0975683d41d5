// The UDP test client lives with the gateway's UDP unit tests (the testkit's TestClient speaks only
// WebSocket and TCP); the cluster tests use the same one.
export { UdpTestClient, type UdpDatagram, type UdpWaitOptions } from '../../packages/gateway/test/unit/udp-client.js';
