// Flood generator for the flood-isolation test, run in a worker thread so the flood has its own
// event loop (and core), like a hostile remote client. Plain JavaScript on node built-ins only.
//
// workerData: { wsPort, tcpPort, seed }. Posts { sent, connections } every 100 ms; stops on 'stop'.
import { parentPort, workerData } from 'node:worker_threads';
import * as net from 'node:net';
import { randomBytes } from 'node:crypto';

const { wsPort, tcpPort, seed } = workerData;
let running = true;
let sent = 0;
let connections = 0;

let a = seed >>> 0;
function rnd() {
  a = (a + 0x6d2b79f5) >>> 0;
  let t = a;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const int = (n) => Math.floor(rnd() * n);

function packet(type, from, to, dataContent, fp = null, qos = false) {
  const o = { bridge: false, type, dataContent, from, to, QoS: qos, typeu: -1, sm: -1 };
  if (fp) o.fp = fp;
  return JSON.stringify(o);
}

/** A mix of valid packets (as the logged-in `me`) and garbage. */
function floodPackets(me, n) {
  const out = [];
  for (let i = 0; i < n; i++) {
    switch (int(8)) {
      case 0:
        out.push(packet(1, me, '0', '{}'));
        break;
      case 1:
        out.push(packet(2, me, '0', 'c2s flood ' + i, 'f-' + seed + '-' + sent + '-' + i, true));
        break;
      case 2:
        out.push(packet(2, me, 'nobody-' + int(50), 'c2c flood', null, false));
        break;
      case 3:
        out.push(packet(4, me, 'someone', 'unknown-fp-' + i));
        break;
      case 4:
        out.push(packet(5, me, '0', 'echo ' + i));
        break;
      case 5:
        out.push(packet(2, 'not-' + me, 'x', 'spoofed', 'sp-' + i, true));
        break;
      case 6:
        out.push(packet(77, me, '0', 'unknown type'));
        break;
      default:
        out.push('{"type":2,"dataContent":"x","from":"' + me + '","to":"0","QoS":"true","typeu":"7","fp":"q' + i + '"}');
    }
  }
  return out;
}

function garbage() {
  return int(2) ? randomBytes(1 + int(64)).toString('latin1') : '{"type":' + int(100) + ',"dataContent":{"nested":[1,2]}}';
}

function tcpFrame(text) {
  const body = Buffer.from(text, 'utf8');
  const head = Buffer.allocUnsafe(4);
  head.writeUInt32BE(body.length);
  return Buffer.concat([head, body]);
}

function wsFrame(opcode, payload) {
  const body = Buffer.isBuffer(payload) ? payload : Buffer.from(payload, 'utf8');
  const len = body.length;
  const head = [0x80 | opcode];
  if (len < 126) head.push(0x80 | len);
  else if (len < 65536) head.push(0x80 | 126, len >> 8, len & 0xff);
  else head.push(0x80 | 127, 0, 0, 0, 0, (len >>> 24) & 0xff, (len >>> 16) & 0xff, (len >>> 8) & 0xff, len & 0xff);
  const mask = randomBytes(4);
  const masked = Buffer.allocUnsafe(len);
  for (let i = 0; i < len; i++) masked[i] = body[i] ^ mask[i & 3];
  return Buffer.concat([Buffer.from(head), mask, masked]);
}

/**
 * Write `buf` as fast as the socket takes it; resolves false once the socket is gone. Always
 * yields to the event loop (setImmediate) so closes, stats and 'stop' are seen between writes.
 */
function write(sock, buf) {
  if (sock.destroyed) return Promise.resolve(false);
  if (sock.write(buf)) return new Promise((resolve) => setImmediate(() => resolve(!sock.destroyed)));
  return new Promise((resolve) => {
    const done = (ok) => {
      sock.off('drain', onDrain);
      sock.off('close', onClose);
      resolve(ok);
    };
    const onDrain = () => done(true);
    const onClose = () => done(false);
    sock.on('drain', onDrain);
    sock.on('close', onClose);
  });
}

function connect(port) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port, noDelay: true });
    sock.on('error', () => {});
    sock.on('data', () => {}); // read and drop whatever the gateway answers
    sock.once('connect', () => {
      connections++;
      resolve(sock);
    });
    sock.once('close', () => resolve(sock));
  });
}

async function tcpFlooder(id, withGarbage) {
  let round = 0;
  while (running) {
    const sock = await connect(tcpPort);
    const me = `flood-tcp-${id}-${round++}`;
    const login = packet(0, me, '0', JSON.stringify({ loginUserId: me, firstLoginTime: 0 }));
    await write(sock, tcpFrame(login));
    while (running && !sock.destroyed) {
      const texts = floodPackets(me, 200);
      if (withGarbage && int(4) === 0) texts.push(garbage());
      sent += texts.length;
      if (!(await write(sock, Buffer.concat(texts.map(tcpFrame))))) break;
    }
    sock.destroy();
  }
}

async function tcpGarbage() {
  while (running) {
    const sock = await connect(tcpPort);
    while (running && !sock.destroyed) {
      sent++;
      if (!(await write(sock, randomBytes(1 + int(512))))) break;
    }
    sock.destroy();
  }
}

async function wsFlooder(id) {
  let round = 0;
  while (running) {
    const sock = await connect(wsPort);
    if (sock.destroyed) continue;
    const key = randomBytes(16).toString('base64');
    sock.write(
      `GET /websocket HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    const me = `flood-ws-${id}-${round++}`;
    await write(sock, wsFrame(1, packet(0, me, '0', JSON.stringify({ loginUserId: me, firstLoginTime: 0 }))));
    while (running && !sock.destroyed) {
      const frames = floodPackets(me, 200).map((t) => wsFrame(1, t));
      const r = int(6);
      if (r === 0) frames.push(wsFrame(1, garbage()));
      else if (r === 1) frames.push(wsFrame(2, randomBytes(32)));
      sent += frames.length;
      if (!(await write(sock, Buffer.concat(frames)))) break;
    }
    sock.destroy();
  }
}

parentPort.on('message', (m) => {
  if (m === 'stop') running = false;
});
const timer = setInterval(() => parentPort.postMessage({ sent, connections }), 100);

await Promise.all([tcpFlooder(1, true), tcpFlooder(2, false), tcpGarbage(), wsFlooder(1), wsFlooder(2)]);
clearInterval(timer);
parentPort.postMessage({ sent, connections, done: true });
