export { PacketType, ExtensionPacketType, CONTROL_TYPEU_MAX, isControlTypeu, CLIENT_PACKET_TYPES, ErrorCode, KickoutCode, CloseCode, SERVER_UID, UNSET_UID } from './codes.js';
export { ProtocolError, ProtocolErrorKind, isProtocolError } from './errors.js';
export { type Packet, PACKET_DEFAULTS, createPacket, encodePacket, decodePacket, toPacket, isToServer, withHistory } from './packet.js';
export {
  type LoginInfo,
  type LoginResponse,
  type ErrorResponse,
  type KickoutInfo,
  MAX_USER_ID_LENGTH,
  parseLoginInfo,
  parseLoginResponse,
  parseErrorResponse,
  parseKickoutInfo,
  encodeLoginInfo,
  encodeLoginResponse,
  encodeErrorResponse,
  encodeKickoutInfo,
  loginPacket,
  loginResponsePacket,
  keepAlivePacket,
  keepAliveResponsePacket,
  errorPacket,
  kickoutPacket,
  ackPacket,
  echoResponsePacket,
  dataPacket,
  serverPushPacket,
  noticePacket,
  type Notice,
  MAX_LOGIN_FEATURES,
  MAX_LOGIN_FEATURE_LENGTH,
} from './payloads.js';
export { Feature, TYPING_TYPEU, WATCH_TYPEU, MAX_WATCH_UIDS, type PresenceState, parseWatchList, isSignalTypeu } from './presence.js';
export { TCP_HEADER_BYTES, DEFAULT_TCP_MAX_BODY_BYTES, encodeTcpFrame, TcpFrameDecoder, decodeUtf8 } from './framing.js';
export { SENSE_MODES, type SenseMode, type SenseModeTimings, senseModeTimings, parseSenseMode } from './sense-mode.js';
