import type { Catalogue } from "../i18n";
import en from "./en";

const de: Catalogue = { ...en };

export default de;
