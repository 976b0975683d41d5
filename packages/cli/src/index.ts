export { loadConfig, type Config, type Role } from "./config.js";
