export { switchLogic, type SwitchState } from "./switch-actor.js";
