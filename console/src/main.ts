/** Start-up: read config.json, wire the API module, then route. */
import { configure } from "./api";
import { ready, signedIn, signOut } from "./cloud-auth";
import { loadConfig, type ConsoleConfig } from "./config";
import { h } from "./dom";
import { comparePage } from "./pages/compare";
import { executionPage } from "./pages/execution";
import { modelsPage } from "./pages/models";
import { pipelinePage } from "./pages/pipeline";
import { pipelinesPage } from "./pages/pipelines";
import { interceptLinks, render, route } from "./router";
import { errorBox } from "./ui";

route("/", pipelinesPage);
route("/pipelines", pipelinesPage);
route("/pipelines/:name", pipelinePage);
route("/executions/:id", executionPage);
route("/compare", comparePage);
route("/models", modelsPage);

/** The signed-in user and a Sign out button in the header (cloud only). */
function showUser(config: ConsoleConfig): void {
  const user = signedIn(config);
  if (!user) return;
  const button = h("button", { type: "button", class: "signout" }, "Sign out");
  button.addEventListener("click", () => signOut(config));
  document.querySelector("header.top")?.append(h("span", { class: "user" }, user), button);
}

async function start(): Promise<void> {
  const main = document.getElementById("main")!;
  try {
    const config = await loadConfig();
    configure(config);
    if (config.auth) {
      await ready(config);
      showUser(config);
    }
  } catch (error) {
    main.replaceChildren(errorBox(error, "The console could not start"));
    return;
  }
  interceptLinks();
  await render();
}

void start().catch((error) => document.getElementById("main")?.replaceChildren(h("p", {}, String(error))));
