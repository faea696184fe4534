import type { Page } from "../router";
export const pipelinePage: Page = async (main) => { main.textContent = "todo"; };
