import type { Catalogue } from "../i18n";
import en from "./en";

const ar: Catalogue = { ...en };

export default ar;
