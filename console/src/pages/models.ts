/** `/models`: model package groups and their packages, metrics and approval status; Approve / Reject. */
import { callApi, listAll, readObject } from "../api";
import { h, replace } from "../dom";
import { time } from "../format";
import type { Page } from "../router";
import { badge, errorBox, section } from "../ui";

type Package = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** `a.b.value: 1.5` lines from a SageMaker model-metrics JSON document. */
function flatten(value: unknown, path: string[] = [], out: string[] = []): string[] {
  if (value && typeof value === "object" && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flatten(v, k === "value" ? path : [...path, k], out);
  } else if (typeof value === "number" || typeof value === "string" || typeof value === "boolean") {
    out.push(`${path.join(".")}: ${value}`);
  }
  return out;
}

function metricUris(pkg: Package): string[] {
  const uris: string[] = [];
  const visit = (value: unknown) => {
    if (Array.isArray(value)) value.forEach(visit);
    else if (value && typeof value === "object") {
      for (const [k, v] of Object.entries(value)) {
        if (k === "S3Uri" && typeof v === "string") uris.push(v);
        else visit(v);
      }
    }
  };
  visit(pkg.ModelMetrics);
  return uris;
}

async function metricsCell(pkg: Package): Promise<HTMLElement> {
  const uris = metricUris(pkg);
  const custom = Object.entries(pkg.CustomerMetadataProperties ?? {}).map(([k, v]) => `${k}: ${v}`);
  if (!uris.length && !custom.length) return h("span", { class: "muted" }, "none");
  const lines: HTMLElement[] = custom.map((text) => h("li", {}, text));
  for (const uri of uris) {
    try {
      lines.push(...flatten(JSON.parse(await readObject(uri))).map((text) => h("li", { title: uri }, text)));
    } catch {
      lines.push(h("li", {}, uri));
    }
  }
  return h("ul", { class: "metrics" }, lines);
}

export const modelsPage: Page = async (main) => {
  document.title = "Models · Pipelines";
  replace(main, h("h1", {}, "Models"), h("p", { class: "loading" }, "Loading model package groups…"));
  const groups = await listAll<Record<string, string>>("ListModelPackageGroups", { MaxResults: 100 }, "ModelPackageGroupSummaryList");
  if (!groups.length) {
    replace(main, h("h1", {}, "Models"), h("p", {}, "No model package groups yet (a RegisterModel step or CreateModelPackageGroup makes one)."));
    return;
  }
  const sections = await Promise.all(groups.map(async (group) => {
    const name = group.ModelPackageGroupName;
    const holder = h("div");
    const draw = async () => {
      const summaries = await listAll<Package>("ListModelPackages", { ModelPackageGroupName: name, MaxResults: 100, SortBy: "CreationTime", SortOrder: "Descending" }, "ModelPackageSummaryList");
      const packages = await Promise.all(summaries.map((s) => callApi("DescribeModelPackage", { ModelPackageName: s.ModelPackageArn }) as Promise<Package>));
      const rows = await Promise.all(packages.map(async (pkg) => {
        const version = String(pkg.ModelPackageVersion ?? "—");
        const status = h("span", { role: "status", "aria-live": "polite" });
        const decide = (approval: "Approved" | "Rejected", label: string) => {
          const button = h("button", { type: "button", class: approval === "Approved" ? "primary" : "danger",
            disabled: pkg.ModelApprovalStatus === approval, "aria-label": `${label} ${name} version ${version}` }, label);
          button.addEventListener("click", () => {
            button.disabled = true;
            callApi("UpdateModelPackage", { ModelPackageArn: pkg.ModelPackageArn, ModelApprovalStatus: approval })
              .then(() => draw())
              .catch((error) => {
                button.disabled = false;
                replace(status, errorBox(error, `${label} failed`));
              });
          });
          return button;
        };
        return h("tr", { "data-version": version },
          h("td", {}, version), h("td", {}, badge(pkg.ModelPackageStatus)), h("td", {}, badge(pkg.ModelApprovalStatus)),
          h("td", {}, time(pkg.CreationTime)), h("td", {}, await metricsCell(pkg)),
          h("td", {}, h("div", { class: "toolbar" }, decide("Approved", "Approve"), decide("Rejected", "Reject"), status)));
      }));
      replace(holder, rows.length
        ? h("table", { id: `group-${name}` }, h("caption", {}, `${rows.length} packages`),
            h("thead", {}, h("tr", {}, ["Version", "Status", "Approval", "Created", "Metrics", "Actions"].map((t) => h("th", { scope: "col" }, t)))),
            h("tbody", {}, rows))
        : h("p", { class: "muted" }, "No packages in this group."));
    };
    try {
      await draw();
    } catch (error) {
      replace(holder, errorBox(error, `Could not list ${name}`));
    }
    return section(name, group.ModelPackageGroupDescription ? h("p", {}, group.ModelPackageGroupDescription) : null, holder);
  }));
  replace(main, h("h1", {}, "Models"), sections);
};
