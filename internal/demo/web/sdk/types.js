// Wire types of the client protocol (docs/protocol.md, version 1), mirroring
// protocol/frames.go. Field names are the JSON names on the wire.
export const PROTOCOL_VERSION = 1;
/** Close codes of docs/protocol.md. */
export const CloseCode = {
    Normal: 1000,
    GoingAway: 1001,
    Abnormal: 1006,
    FrameTooLarge: 1009,
    Restart: 1012,
    AuthFailed: 4001,
    AuthTimeout: 4002,
    BadProtocol: 4003,
    Kicked: 4004,
    Replaced: 4005,
    TooMany: 4006,
    SlowConsumer: 4008,
    Heartbeat: 4009,
    BadFrames: 4010,
};
/** Closes after which the client stops for good (4001 only without a password to get a new token). */
export function terminalClose(code) {
    return [4001, 4003, 4004, 4005, 4006, 4010].includes(code);
}
