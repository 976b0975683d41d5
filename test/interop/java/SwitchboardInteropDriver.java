/*
 * Switchboard interop driver (our own code, written for the Switchboard project).
 *
 * Drives MobileIMSDK's prebuilt Java TCP client SDK (MobileIMSDK4j_tcp.jar, used unchanged, only
 * through its public API) from line commands on stdin and reports every SDK callback as one JSON
 * line on stdout, so a test written in any language can script a real MobileIMSDK client.
 * Compiled against MobileIMSDK4j_udp.jar instead (test/interop/prepare.sh --udp) the same source
 * drives the UDP client SDK, whose public API is the same; its sense modes are 3S, 10S, 30S, 60S
 * and 120S (pass --sense 3S, its default).
 *
 * Usage:
 *   java -cp <classpath from test/interop/prepare.sh> SwitchboardInteropDriver \
 *        <host> <port> <uid> <token> [--sense 5S] [--extra TEXT] [--first-login-time MS]
 *        [--no-auto-relogin] [--debug] [--login-timeout MS]
 *
 * Commands (stdin, one per line; the text is the rest of the line, verbatim):
 *   send <toUid> <fp|auto> <text>             QoS data message (typeu -1)
 *   sendu <toUid> <fp|auto> <typeu> <text>    QoS data message with an app type
 *   sendnoqos <toUid> <text>                  data message without QoS
 *   login                                     log in again (after logout)
 *   logout                                    send the logout packet and release the SDK
 *   status                                    print the SDK's connection flags
 *   quit                                      release the SDK and exit (stdin EOF does the same)
 *
 * Events (stdout, one JSON object per line, every one has "event" and "t" = ms since epoch):
 *   {"event":"started", host, port, uid, sense}
 *   {"event":"loginSent","code":N}            the SDK's local send result for the login packet
 *   {"event":"login","code":N,"firstLoginTime":T}
 *   {"event":"sent","fp":..,"to":..,"code":N,"qos":bool}
 *   {"event":"message","fp":..,"from":..,"content":..,"typeu":N}
 *   {"event":"acked","fp":..}
 *   {"event":"lost","fps":[..]}
 *   {"event":"kickout","code":N,"reason":..}
 *   {"event":"linkClose","code":N}
 *   {"event":"error","code":N,"msg":..}       server error packet (type 52), or a driver-side problem
 *   {"event":"loggedOut","code":N}, {"event":"status",...}, {"event":"bye"}
 *
 * The SDK's own log (it prints to System.out) is redirected to stderr so stdout stays pure JSON.
 */

import java.io.BufferedReader;
import java.io.FileOutputStream;
import java.io.FileDescriptor;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Timer;
import java.util.TimerTask;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;

import net.x52im.mobileimsdk.java.ClientCoreSDK;
import net.x52im.mobileimsdk.java.conf.ConfigEntity;
import net.x52im.mobileimsdk.java.core.LocalDataSender;
import net.x52im.mobileimsdk.java.event.ChatBaseEvent;
import net.x52im.mobileimsdk.java.event.ChatMessageEvent;
import net.x52im.mobileimsdk.java.event.MessageQoSEvent;
import net.x52im.mobileimsdk.java.utils.Log;
import net.x52im.mobileimsdk.server.protocal.Protocal;
import net.x52im.mobileimsdk.server.protocal.ProtocalFactory;
import net.x52im.mobileimsdk.server.protocal.c.PLoginInfo;
import net.x52im.mobileimsdk.server.protocal.s.PKickoutInfo;

public final class SwitchboardInteropDriver {

    /** Error codes the driver itself reports (negative, so they never collide with protocol codes). */
    static final int ERR_BAD_COMMAND = -100;
    static final int ERR_LOGIN_TIMEOUT = -101;
    static final int ERR_EXCEPTION = -102;

    private static PrintStream events;
    private static final Gson GSON = new GsonBuilder().disableHtmlEscaping().serializeNulls().create();

    private static String host;
    private static int port;
    private static String uid;
    private static String token;
    private static String extra;
    private static long firstLoginTime = 0;
    private static long loginTimeoutMs = 15_000;
    private static volatile boolean loginAnswered = false;
    private static final Timer timer = new Timer("driver-timer", true);

    private SwitchboardInteropDriver() {
    }

    static synchronized void emit(String event, Object... kv) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("event", event);
        for (int i = 0; i + 1 < kv.length; i += 2) {
            m.put(String.valueOf(kv[i]), kv[i + 1]);
        }
        m.put("t", System.currentTimeMillis());
        events.println(GSON.toJson(m));
        events.flush();
    }

    private static void usage(String why) {
        System.err.println("error: " + why);
        System.err.println("usage: SwitchboardInteropDriver <host> <port> <uid> <token> [--sense 5S] [--extra TEXT]"
                + " [--first-login-time MS] [--no-auto-relogin] [--debug] [--login-timeout MS]");
        System.exit(2);
    }

    private static ConfigEntity.SenseMode parseSense(String s) {
        String v = s.toUpperCase(Locale.ROOT);
        if (!v.startsWith("MODE_")) {
            v = "MODE_" + v;
        }
        try {
            return ConfigEntity.SenseMode.valueOf(v);
        } catch (IllegalArgumentException e) {
            usage("unknown sense mode " + s + " (3S, 5S, 10S, 15S, 30S, 60S, 120S)");
            return null;
        }
    }

    public static void main(String[] args) throws Exception {
        // Keep the real stdout for JSON events only; everything the SDK prints goes to stderr.
        events = new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8);
        System.setOut(new PrintStream(new FileOutputStream(FileDescriptor.err), true, StandardCharsets.UTF_8));

        List<String> positional = new ArrayList<>();
        String sense = "5S";
        boolean debug = false;
        boolean autoRelogin = true;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "--sense": sense = need(args, ++i, a); break;
                case "--extra": extra = need(args, ++i, a); break;
                case "--first-login-time": firstLoginTime = Long.parseLong(need(args, ++i, a)); break;
                case "--login-timeout": loginTimeoutMs = Long.parseLong(need(args, ++i, a)); break;
                case "--no-auto-relogin": autoRelogin = false; break;
                case "--debug": debug = true; break;
                default:
                    if (a.startsWith("--")) {
                        usage("unknown option " + a);
                    }
                    positional.add(a);
            }
        }
        if (positional.size() != 4) {
            usage("expected <host> <port> <uid> <token>");
        }
        host = positional.get(0);
        try {
            port = Integer.parseInt(positional.get(1));
        } catch (NumberFormatException e) {
            usage("bad port " + positional.get(1));
        }
        uid = positional.get(2);
        token = positional.get(3);

        System.setProperty("java.awt.headless", "true");
        ClientCoreSDK.DEBUG = debug;
        ClientCoreSDK.autoReLogin = autoRelogin;
        if (!debug) {
            // The SDK's Log prints only levels above this threshold: keep WARN, ERROR and FETAL.
            Log.getInstance().setLogLevel(Log.DEBUG);
        }
        ConfigEntity.serverIP = host;
        ConfigEntity.serverPort = port;
        ConfigEntity.setSenseMode(parseSense(sense));

        installCallbacks();
        emit("started", "host", host, "port", port, "uid", uid, "sense", sense.toUpperCase(Locale.ROOT));
        login();
        commandLoop();
    }

    private static String need(String[] args, int i, String opt) {
        if (i >= args.length) {
            usage("missing value for " + opt);
        }
        return args[i];
    }

    private static void installCallbacks() {
        ClientCoreSDK sdk = ClientCoreSDK.getInstance();
        sdk.setChatBaseEvent(new ChatBaseEvent() {
            @Override
            public void onLoginResponse(int code) {
                loginAnswered = true;
                PLoginInfo info = ClientCoreSDK.getInstance().getCurrentLoginInfo();
                emit("login", "code", code, "firstLoginTime", info == null ? null : info.getFirstLoginTime());
            }

            @Override
            public void onLinkClose(int code) {
                emit("linkClose", "code", code);
            }

            @Override
            public void onKickout(PKickoutInfo info) {
                emit("kickout", "code", info == null ? null : info.getCode(),
                        "reason", info == null ? null : info.getReason());
            }
        });
        sdk.setChatMessageEvent(new ChatMessageEvent() {
            @Override
            public void onRecieveMessage(String fp, String from, String content, int typeu) {
                emit("message", "fp", fp, "from", from, "content", content, "typeu", typeu);
            }

            @Override
            public void onErrorResponse(int code, String msg) {
                emit("error", "code", code, "msg", msg, "source", "server");
            }
        });
        sdk.setMessageQoSEvent(new MessageQoSEvent() {
            @Override
            public void messagesLost(ArrayList<Protocal> lost) {
                List<String> fps = new ArrayList<>();
                if (lost != null) {
                    for (Protocal p : lost) {
                        fps.add(p.getFp());
                    }
                }
                emit("lost", "fps", fps);
            }

            @Override
            public void messagesBeReceived(String fp) {
                emit("acked", "fp", fp);
            }
        });
    }

    private static void login() {
        loginAnswered = false;
        PLoginInfo info = new PLoginInfo(uid, token, extra);
        if (firstLoginTime > 0) {
            info.setFirstLoginTime(firstLoginTime);
        }
        // SendLoginDataAsync's constructor initialises the SDK; the login packet goes out once the
        // TCP connection is up, and the answer arrives through ChatBaseEvent.onLoginResponse.
        new LocalDataSender.SendLoginDataAsync(info) {
            @Override
            protected void fireAfterSendLogin(int code) {
                emit("loginSent", "code", code);
            }
        }.execute();
        final long timeout = loginTimeoutMs;
        timer.schedule(new TimerTask() {
            @Override
            public void run() {
                if (!loginAnswered) {
                    emit("error", "code", ERR_LOGIN_TIMEOUT, "msg", "no login response within " + timeout + " ms",
                            "source", "driver");
                }
            }
        }, timeout);
    }

    private static void commandLoop() throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            if (line.isBlank()) {
                continue;
            }
            try {
                if (!handle(line)) {
                    break;
                }
            } catch (Exception e) {
                emit("error", "code", ERR_EXCEPTION, "msg", e.toString(), "source", "driver");
            }
        }
        shutdown();
    }

    /** Returns false when the driver should exit. */
    private static boolean handle(String line) {
        String[] head = line.trim().split(" ", 2);
        String cmd = head[0];
        String rest = head.length > 1 ? head[1] : "";
        switch (cmd) {
            case "send": {
                String[] p = rest.split(" ", 3);
                if (p.length < 3) {
                    return bad(line, "send <toUid> <fp|auto> <text>");
                }
                sendData(p[0], p[1], -1, p[2], true);
                return true;
            }
            case "sendu": {
                String[] p = rest.split(" ", 4);
                if (p.length < 4) {
                    return bad(line, "sendu <toUid> <fp|auto> <typeu> <text>");
                }
                sendData(p[0], p[1], Integer.parseInt(p[2]), p[3], true);
                return true;
            }
            case "sendnoqos": {
                String[] p = rest.split(" ", 2);
                if (p.length < 2) {
                    return bad(line, "sendnoqos <toUid> <text>");
                }
                sendData(p[0], "auto", -1, p[1], false);
                return true;
            }
            case "login":
                login();
                return true;
            case "logout": {
                int code = LocalDataSender.getInstance().sendLoginout();
                emit("loggedOut", "code", code);
                return true;
            }
            case "status": {
                ClientCoreSDK sdk = ClientCoreSDK.getInstance();
                emit("status", "initialed", sdk.isInitialed(), "loggedIn", sdk.isLoginHasInit(),
                        "connected", sdk.isConnectedToServer());
                return true;
            }
            case "quit":
                return false;
            default:
                return bad(line, "unknown command");
        }
    }

    private static boolean bad(String line, String why) {
        emit("error", "code", ERR_BAD_COMMAND, "msg", why + ": " + line, "source", "driver");
        return true;
    }

    private static void sendData(String to, String fpArg, int typeu, String text, boolean qos) {
        PLoginInfo info = ClientCoreSDK.getInstance().getCurrentLoginInfo();
        String from = info != null ? info.getLoginUserId() : uid;
        String fp = (!qos || "auto".equals(fpArg)) ? null : fpArg;
        // With QoS and no fingerprint the SDK's Protocal constructor generates a UUID; we build the
        // packet first so the fingerprint can be reported before any ack can arrive.
        Protocal p = ProtocalFactory.createCommonData(text, from, to, qos, fp, typeu);
        emit("sending", "fp", p.getFp(), "to", to, "qos", qos);
        int code = LocalDataSender.getInstance().sendCommonData(p);
        emit("sent", "fp", p.getFp(), "to", to, "code", code, "qos", qos);
    }

    private static void shutdown() {
        try {
            ClientCoreSDK.getInstance().release();
        } catch (Exception e) {
            // best effort
        }
        emit("bye");
        System.exit(0);
    }
}
