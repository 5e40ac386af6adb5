import type { Catalogue } from "../i18n";
import en from "./en";

const es: Catalogue = { ...en };

export default es;
