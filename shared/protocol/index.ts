export * from "./messages.js";
export * from "./rejections.js";
export * from "./moe-shape.js";
export * from "./training-spec.js";
export * from "./fault.js";
export { asMessage, MOE_LIMITS } from "./guard.js";
export { parseSubject, senderFault, SubjectCache, subjectFault, type SubjectParts } from "./authenticate.js";
export { Channel, Subjects, SUBJECT_ROOT, actorToken, parseActorToken } from "./subjects.js";
