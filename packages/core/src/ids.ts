import { randomBytes, randomUUID } from 'node:crypto';

export type NodeId = string & { readonly __brand: 'NodeId' };
export type ConnId = string & { readonly __brand: 'ConnId' };
export type UserId = string & { readonly __brand: 'UserId' };

/** A new gateway node id: short, unique per start. */
export function newNodeId(prefix = 'gw'): NodeId {
  return `${prefix}-${randomBytes(4).toString('hex')}` as NodeId;
}

let connSeq = 0;
const connPrefix = randomBytes(3).toString('hex');
/** A connection id unique across the cluster (process-random prefix + counter). */
export function newConnId(): ConnId {
  connSeq += 1;
  return `${connPrefix}${connSeq.toString(36)}` as ConnId;
}

/** A MobileIMSDK-style fingerprint (UUID v4). */
export function newFingerprint(): string {
  return randomUUID();
}

export const asUserId = (s: string): UserId => s as UserId;
export const asNodeId = (s: string): NodeId => s as NodeId;
export const asConnId = (s: string): ConnId => s as ConnId;
