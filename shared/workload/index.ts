export { ALGORITHMS, algorithmsOf, programFor } from "./registry.js";
