import type { Page } from "../router";
export const executionPage: Page = async (main) => { main.textContent = "todo"; };
