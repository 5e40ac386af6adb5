import type { Catalogue } from "../i18n";
import en from "./en";

const fr: Catalogue = { ...en };

export default fr;
