import type { Page } from "../router";
export const comparePage: Page = async (main) => { main.textContent = "todo"; };
