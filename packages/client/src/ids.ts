/**
 * A new MobileIMSDK-style fingerprint: a random UUID v4 (36 lower-case characters), as the Java
 * SDK makes. Uses `crypto.getRandomValues`, which browsers offer outside secure contexts too
 * (unlike `crypto.randomUUID`), so the page works when opened by a LAN address over http.
 */
export function newFingerprint(): string {
  const b = new Uint8Array(16);
  globalThis.crypto.getRandomValues(b);
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  let h = '';
  for (let i = 0; i < 16; i++) {
    h += b[i]!.toString(16).padStart(2, '0');
    if (i === 3 || i === 5 || i === 7 || i === 9) h += '-';
  }
  return h;
}
