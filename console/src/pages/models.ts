import type { Page } from "../router";
export const modelsPage: Page = async (main) => { main.textContent = "todo"; };
