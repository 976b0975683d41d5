/**
 * Frames captured between MobileIMSDK v6 (prebuilt server, Java TCP SDK, a Node WebSocket peer)
 * and recorded in section 13 of the protocol spec. Bytes are exactly as seen on the wire.
 */
export interface ReferenceFrame {
  /** What the frame is. */
  readonly what: string;
  /** Transport it was captured on. */
  readonly transport: 'tcp' | 'ws' | 'udp';
  /** The TCP header value seen before it, when the capture recorded it. */
  readonly tcpHeader: number | null;
  /** The JSON body. */
  readonly json: string;
}

export const REFERENCE_FRAMES = {
  LOGIN: {
    what: 'Java TCP SDK login (C→S)',
    transport: 'tcp',
    tcpHeader: 201,
    json: String.raw`{"bridge":false,"type":0,"dataContent":"{\"loginUserId\":\"jtcp2\",\"loginToken\":\"token-jtcp2\",\"extra\":\"java-extra\",\"firstLoginTime\":0}","from":"jtcp2","to":"0","QoS":false,"typeu":-1,"sm":-1}`,
  },
  LOGIN_RESPONSE: {
    what: 'login response (S→C)',
    transport: 'tcp',
    tcpHeader: 143,
    json: String.raw`{"bridge":false,"type":50,"dataContent":"{\"code\":0,\"firstLoginTime\":1795310089341}","from":"0","to":"jtcp2","QoS":false,"typeu":-1,"sm":-1}`,
  },
  KEEPALIVE: {
    what: 'keepalive (C→S)',
    transport: 'tcp',
    tcpHeader: 99,
    json: String.raw`{"bridge":false,"type":1,"dataContent":"{}","from":"jtcp2","to":"0","QoS":false,"typeu":-1,"sm":-1}`,
  },
  KEEPALIVE_RESPONSE: {
    what: 'keepalive response (S→C)',
    transport: 'tcp',
    tcpHeader: 100,
    json: String.raw`{"bridge":false,"type":51,"dataContent":"{}","from":"0","to":"jtcp2","QoS":false,"typeu":-1,"sm":-1}`,
  },
  C2C_QOS: {
    what: 'C2C QoS message from the Java SDK',
    transport: 'tcp',
    tcpHeader: 169,
    json: String.raw`{"bridge":false,"type":2,"dataContent":"hello from Java TCP SDK","from":"jtcp2","to":"webpeer2","fp":"27b59475-c30e-4161-bb5d-abf2f429dd14","QoS":true,"typeu":7,"sm":-1}`,
  },
  PSEUDO_ACK: {
    what: 'server pseudo-ACK to the sender',
    transport: 'tcp',
    tcpHeader: 140,
    json: String.raw`{"bridge":false,"type":4,"dataContent":"27b59475-c30e-4161-bb5d-abf2f429dd14","from":"webpeer2","to":"jtcp2","QoS":false,"typeu":-1,"sm":-1}`,
  },
  C2S_ACK: {
    what: 'C2S ack from the server',
    transport: 'tcp',
    tcpHeader: null,
    json: String.raw`{"bridge":false,"type":4,"dataContent":"844cca91-37f9-48e0-81cd-be869d26c314","from":"0","to":"jtcp2","QoS":false,"typeu":-1,"sm":-1}`,
  },
  RELAYED_WS: {
    what: 'relayed message as received over WS by the Node peer',
    transport: 'ws',
    tcpHeader: null,
    json: String.raw`{"bridge":false,"type":2,"dataContent":"hello from Java TCP SDK","from":"jtcp","to":"webpeer","fp":"70d848a1-e3be-480a-bb70-4411bb57d7a8","QoS":true,"typeu":7,"sm":-1}`,
  },
  WS_PEER_ACK: {
    what: "the Node peer's ACK over WS (no sm key)",
    transport: 'ws',
    tcpHeader: null,
    json: String.raw`{"bridge":false,"type":4,"dataContent":"70d848a1-e3be-480a-bb70-4411bb57d7a8","from":"webpeer","to":"jtcp","QoS":false,"typeu":-1}`,
  },
  JAVA_ACK: {
    what: 'Java ACK for a message received from WS',
    transport: 'tcp',
    tcpHeader: 140,
    json: String.raw`{"bridge":false,"type":4,"dataContent":"41bf9198-5cf7-4153-8306-ba4b9421a488","from":"jtcp2","to":"webpeer2","QoS":false,"typeu":-1,"sm":-1}`,
  },
  LOGOUT: {
    what: 'logout (no dataContent)',
    transport: 'tcp',
    tcpHeader: 80,
    json: String.raw`{"bridge":false,"type":3,"from":"jtcp2","to":"0","QoS":false,"typeu":-1,"sm":-1}`,
  },
  ERROR_UNLOGIN: {
    what: 'error 301 for data before login',
    transport: 'tcp',
    tcpHeader: 372,
    json: String.raw`{"bridge":false,"type":52,"dataContent":"{\"errorCode\":301,\"errorMsg\":\"{\\\"bridge\\\":false,\\\"type\\\":2,\\\"dataContent\\\":\\\"hello before login\\\",\\\"from\\\":\\\"zed_tcp40\\\",\\\"to\\\":\\\"0\\\",\\\"fp\\\":\\\"5ac97602-0100-4f23-b856-5905c0d46cea\\\",\\\"QoS\\\":true,\\\"typeu\\\":-1,\\\"sm\\\":-1}\"}","from":"0","to":"-1","QoS":false,"typeu":-1,"sm":-1}`,
  },
  KICKOUT_DUPLICATE: {
    what: 'duplicate-login kickout',
    transport: 'tcp',
    tcpHeader: null,
    json: String.raw`{"bridge":false,"type":54,"dataContent":"{\"code\":1}","from":"0","to":"alice_tcp40","QoS":false,"typeu":-1,"sm":-1}`,
  },
  KICKOUT_ADMIN: {
    what: 'admin kickout (serverTimestamp on)',
    transport: 'tcp',
    tcpHeader: null,
    json: String.raw`{"bridge":false,"type":54,"dataContent":"{\"code\":2,\"reason\":\"admin says bye\"}","from":"0","to":"kick_tcp895","QoS":false,"typeu":-1,"sm":1795310172878}`,
  },
  LOGIN_REJECTED: {
    what: 'login rejected with 1025 (serverTimestamp on)',
    transport: 'tcp',
    tcpHeader: null,
    json: String.raw`{"bridge":false,"type":50,"dataContent":"{\"code\":1025,\"firstLoginTime\":-1}","from":"0","to":"-1","QoS":false,"typeu":-1,"sm":1795310166458}`,
  },
  ECHO: {
    what: 'echo request over UDP',
    transport: 'udp',
    tcpHeader: null,
    json: String.raw`{"bridge":false,"type":5,"dataContent":"ping-echo","from":"alice_udp550","to":"0","QoS":false,"typeu":-1,"sm":-1}`,
  },
  ECHO_RESPONSE: {
    what: 'echo response over UDP',
    transport: 'udp',
    tcpHeader: null,
    json: String.raw`{"bridge":false,"type":53,"dataContent":"ping-echo","from":"alice_udp550","to":"0","QoS":false,"typeu":-1,"sm":-1}`,
  },
  S2C_PUSH: {
    what: 'server push (S2C, QoS)',
    transport: 'tcp',
    tcpHeader: null,
    json: String.raw`{"bridge":false,"type":2,"dataContent":"server push","from":"0","to":"s2c_tcp895","fp":"a0d388ab-de3a-4c60-ba2e-73868f349bb1","QoS":true,"typeu":77,"sm":1795310171856}`,
  },
  S2C_PUSH_ACK: {
    what: 'the client ACK of the push, to "0" (no sm key)',
    transport: 'tcp',
    tcpHeader: null,
    json: String.raw`{"bridge":false,"type":4,"dataContent":"a0d388ab-de3a-4c60-ba2e-73868f349bb1","from":"s2c_tcp895","to":"0","QoS":false,"typeu":-1}`,
  },
} as const satisfies Record<string, ReferenceFrame>;
export type ReferenceFrameName = keyof typeof REFERENCE_FRAMES;

/** Every reference frame as `[name, frame]`, for table-driven tests. */
export const REFERENCE_FRAME_LIST = Object.entries(REFERENCE_FRAMES) as [ReferenceFrameName, ReferenceFrame][];
