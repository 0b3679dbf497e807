export * from "./messages.js";
export { asMessage, MOE_LIMITS } from "./guard.js";
export { Channel, Subjects, SUBJECT_ROOT, actorToken, parseActorToken } from "./subjects.js";
