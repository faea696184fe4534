/** The layout worker (see layout.ts): one message in (LayoutInput), one out (LayoutResult). */
import dagre from "@dagrejs/dagre";
import { computeLayout, type LayoutInput } from "./layout";

self.onmessage = (event: MessageEvent<LayoutInput>) => {
  self.postMessage(computeLayout(dagre, event.data));
};
