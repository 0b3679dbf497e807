export * from "./messages.js";
export { asMessage } from "./guard.js";
