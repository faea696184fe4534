/** Start-up: read config.json, wire the API module, then route. */
import { configure } from "./api";
import { loadConfig } from "./config";
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

async function start(): Promise<void> {
  const main = document.getElementById("main")!;
  try {
    configure(await loadConfig());
  } catch (error) {
    main.replaceChildren(errorBox(error, "The console could not start"));
    return;
  }
  interceptLinks();
  await render();
}

void start().catch((error) => document.getElementById("main")?.replaceChildren(h("p", {}, String(error))));
