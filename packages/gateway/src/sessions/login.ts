import { CloseCode, ErrorCode, KickoutCode, kickoutPacket, loginResponsePacket, parseLoginInfo, type LoginInfo, type Packet } from '@switchboard/protocol';
import { UnroutableError, type Logger, type NodeId, type UserId } from '@switchboard/core';
import type { Bridge, ClaimResult, Route, RouteStore } from '@switchboard/cluster';
import { loginCode, type LoginVerifier } from '../auth.js';
import type { GatewayMetrics } from '../metrics.js';
import type { Outcomes } from '../delivery/outcomes.js';
import type { RouteResolver } from '../delivery/route-resolver.js';
import type { OfflineDelivery } from '../delivery/offline-delivery.js';
import type { Session } from './session.js';
import type { SessionHub } from './session-hub.js';

export interface LoginDeps {
  nodeId: NodeId;
  log: Logger;
  metrics: GatewayMetrics;
  hub: SessionHub;
  routes: RouteStore;
  resolver: RouteResolver;
  bridge: Bridge;
  verifyLogin: LoginVerifier;
  outcomes: Outcomes;
  offline: OfflineDelivery;
  /** Group prefix: a user id starting with it is refused (null: no groups). */
  groupPrefix: string | null;
  /** After the offline queue: group catch-up. */
  catchUp?: (s: Session) => Promise<void>;
  /** A user's route is now this session's (a new login, not a re-login): presence. */
  onOnline?: (uid: UserId) => void;
}

/**
 * Login and the kick rule (architecture §6): verify the credentials, claim the user's route (the
 * newer firstLoginTime wins; the older session is kicked wherever it is), answer, then deliver the
 * offline queue. Also the admin kick and re-registering every route after a route-store outage.
 */
export class Logins {
  constructor(private readonly d: LoginDeps) {}

  async login(s: Session, p: Packet): Promise<void> {
    let info: LoginInfo;
    try {
      info = parseLoginInfo(p.dataContent);
    } catch (err) {
      this.d.metrics.logins.inc({ result: 'malformed' });
      if (s.debugEnabled) s.log.debug({ err }, 'malformed login');
      this.d.hub.close(s, CloseCode.PROTOCOL_ERROR, 'malformed login');
      return;
    }
    const uid = info.loginUserId as UserId;
    if (s.state === 'authenticating') return; // one login at a time
    if (this.d.groupPrefix !== null && uid.startsWith(this.d.groupPrefix)) {
      // Group addresses start with the prefix: such a user id would be unreachable (docs/groups.md).
      this.d.metrics.logins.inc({ result: 'reserved' });
      this.d.hub.send(s, loginResponsePacket('-1', { code: ErrorCode.BAD_PACKET, firstLoginTime: -1 }));
      this.d.hub.close(s, CloseCode.LOGIN_FAILED, 'user id reserved for groups');
      return;
    }
    if (s.isOnline && s.userId !== uid) {
      this.d.hub.sendError(s, ErrorCode.BAD_PACKET, 'already logged in as another user');
      return;
    }
    const relogin = s.isOnline;
    if (!relogin && !(await this.verify(s, uid, info))) return;

    const firstLoginTime = info.firstLoginTime > 0 ? info.firstLoginTime : Date.now();
    const result = await this.claim(s, uid, info.firstLoginTime, firstLoginTime, relogin);
    if (result === null) return;

    s.loggedIn(uid);
    s.firstLoginTime = firstLoginTime;
    s.extra = info.extra;
    s.features = info.features ?? null;
    s.state = 'online';
    this.d.hub.send(s, loginResponsePacket(uid, { code: ErrorCode.OK, firstLoginTime }));

    if (result.outcome === 'rejected') {
      // An older device reconnecting after being superseded: MobileIMSDK answers OK then kicks it.
      this.d.metrics.logins.inc({ result: 'superseded' });
      this.kickLocal(s, KickoutCode.DUPLICATE_LOGIN, null);
      return;
    }
    this.d.metrics.logins.inc({ result: 'ok' });
    const previous = this.d.hub.register(uid, s);
    if (result.replaced && result.kickReplaced) this.kickRoute(result.replaced, KickoutCode.DUPLICATE_LOGIN, null);
    else if (previous && previous !== s && result.kickReplaced === false && result.replaced) {
      if (s.debugEnabled) s.log.debug('same device reconnected; the older connection stays open but unregistered');
    }
    if (!relogin) {
      this.announce(s, uid, info.extra);
      this.d.onOnline?.(uid);
    }
    await this.d.offline.deliver(s);
    if (this.d.catchUp) await this.d.catchUp(s);
  }

  /** Check the credentials; false when the login failed (answered and closed) or the session went away. */
  private async verify(s: Session, uid: UserId, info: LoginInfo): Promise<boolean> {
    s.state = 'authenticating';
    let code: number;
    try {
      const hook = this.d.outcomes.hooks.verifyLogin;
      // Whatever the hook or verifier answered, the client gets 0, an application code or 1025.
      code = loginCode(
        hook
          ? await hook(uid, info.loginToken, info.extra)
          : await this.d.verifyLogin({ userId: uid, token: info.loginToken, extra: info.extra, remote: s.transport.remote }),
      );
    } catch (err) {
      s.log.warn({ err }, 'login verification failed');
      code = ErrorCode.AUTH_UNAVAILABLE;
    }
    if ((s.state as string) === 'closed') return false;
    if (code !== ErrorCode.OK) {
      this.fail(s, code, 'rejected');
      return false;
    }
    return true;
  }

  /** Claim the user's route for `s`; null when the login cannot go on (answered, or the session closed). */
  private async claim(s: Session, uid: UserId, claimedTime: number, firstLoginTime: number, relogin: boolean): Promise<ClaimResult | null> {
    const route: Route = { userId: uid, nodeId: this.d.nodeId, connId: s.connId, firstLoginTime, since: Date.now() };
    let result: ClaimResult;
    try {
      // A route left by a dead node may be replaced whatever its firstLoginTime.
      const current = await this.d.resolver.find(uid);
      const stale = current && current.route.connId !== s.connId && !current.live ? current.route.connId : undefined;
      result = await this.d.routes.claim(route, claimedTime, stale === undefined ? {} : { staleConnId: stale });
    } catch (err) {
      s.log.warn({ err }, 'route store unavailable at login');
      if (!relogin) this.fail(s, ErrorCode.UNAVAILABLE, 'unavailable');
      return null;
    }
    if (s.state === 'closed') {
      // The connection went away while we claimed: give the route back.
      if (result.outcome === 'claimed') {
        this.d.routes.unregister(uid, s.connId).catch((err: unknown) => s.log.warn({ err }, 'route unregister failed'));
      }
      return null;
    }
    return result;
  }

  private announce(s: Session, uid: UserId, extra: string | null): void {
    const transport = s.transport.kind;
    this.d.outcomes.hook(() => this.d.outcomes.hooks.onUserOnline?.(uid, { connId: s.connId, transport, extra }));
    this.d.outcomes.emit({ type: 'login', at: Date.now(), nodeId: this.d.nodeId, userId: uid, connId: s.connId, transport, extra });
    if (s.debugEnabled) s.log.debug('logged in');
  }

  private fail(s: Session, code: number, result: string): void {
    this.d.metrics.logins.inc({ result });
    s.state = 'open';
    this.d.hub.send(s, loginResponsePacket('-1', { code, firstLoginTime: -1 }));
    this.d.hub.close(s, CloseCode.LOGIN_FAILED, 'login failed');
  }

  /** Kick the session a route names, wherever it lives. */
  kickRoute(r: Route, code: number, reason: string | null): void {
    if (r.nodeId === this.d.nodeId) {
      const old = this.d.hub.conn(r.connId);
      if (old) this.kickLocal(old, code, reason);
      return;
    }
    this.d.bridge.send(r.nodeId, { type: 'kick', origin: this.d.nodeId, userId: r.userId, connId: r.connId, code, reason }).catch((err: unknown) => {
      if (!(err instanceof UnroutableError)) this.d.log.warn({ err, node: r.nodeId }, 'could not send kick');
    });
  }

  kickLocal(s: Session, code: number, reason: string | null): void {
    if (s.state === 'closed') return;
    s.kickCode = code;
    this.d.metrics.kicks.inc({ code });
    // A duplicate login: the route already belongs to the newer session; stop treating this one as registered.
    if (code === KickoutCode.DUPLICATE_LOGIN) this.d.hub.unregister(s);
    this.d.hub.send(s, kickoutPacket(s.userId ?? '-1', code, reason));
    this.d.hub.close(s, CloseCode.KICKED, code === KickoutCode.ADMIN ? 'kicked' : 'duplicate login');
  }

  /** Admin kick (kickout code 2): closes the user's session wherever it is. False when the user has no live route. */
  async kickUser(uid: UserId, reason: string | null): Promise<boolean> {
    const local = this.d.hub.user(uid);
    if (local) {
      this.kickLocal(local, KickoutCode.ADMIN, reason);
      return true;
    }
    const r = await this.d.resolver.live(uid);
    if (!r) return false;
    this.kickRoute(r, KickoutCode.ADMIN, reason);
    return true;
  }

  /**
   * Claim again the routes of every connected user, e.g. after Redis restarted and lost them
   * (architecture §11). The kick rule applies as at login, with each session's own firstLoginTime.
   * False when the route store failed (retried at its next reconnect).
   */
  async reassertAll(): Promise<boolean> {
    let n = 0;
    for (const s of [...this.d.hub.users()]) {
      if (s.state !== 'online' || s.userId === null) continue;
      const route: Route = { userId: s.userId, nodeId: this.d.nodeId, connId: s.connId, firstLoginTime: s.firstLoginTime, since: Date.now() };
      try {
        const r = await this.d.routes.claim(route, s.firstLoginTime);
        if (r.outcome === 'rejected') this.kickLocal(s, KickoutCode.DUPLICATE_LOGIN, null);
        else if (r.replaced && r.kickReplaced) this.kickRoute(r.replaced, KickoutCode.DUPLICATE_LOGIN, null);
        n++;
      } catch (err) {
        this.d.log.warn({ err }, 'could not re-register routes; will retry at the next reconnect');
        return false;
      }
    }
    this.d.log.info({ routes: n }, 're-registered the routes of connected users');
    return true;
  }
}
