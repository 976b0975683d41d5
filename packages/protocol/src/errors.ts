/** Why a frame or packet could not be decoded. */
export const ProtocolErrorKind = {
  /** The bytes are not UTF-8 JSON. */
  BAD_JSON: 'IM_ERR_BAD_JSON',
  /** The JSON is not a packet: not an object, or a field has the wrong type. */
  BAD_PACKET: 'IM_ERR_BAD_PACKET',
  /** A frame exceeds the configured body limit. */
  FRAME_TOO_LARGE: 'IM_ERR_FRAME_TOO_LARGE',
  /** A TCP frame announces a zero-length body. */
  EMPTY_FRAME: 'IM_ERR_EMPTY_FRAME',
  /** A framework payload (`dataContent` of login, kickout…) is malformed. */
  BAD_PAYLOAD: 'IM_ERR_BAD_PAYLOAD',
} as const;
export type ProtocolErrorKind = (typeof ProtocolErrorKind)[keyof typeof ProtocolErrorKind];

/** The only error the decoders throw: any malformed input becomes one of these. */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  readonly code: ProtocolErrorKind;
  constructor(code: ProtocolErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export function isProtocolError(err: unknown): err is ProtocolError {
  return err instanceof ProtocolError;
}
