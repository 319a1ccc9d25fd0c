// Outbound routes (外呼路由) with the toll-fraud guard: prefix, strip, trunk, rules and caps.
// Ids: #route-form, inputs named after the JSON fields, #route-save, #route-error-<field>.
import { COMMON, crud } from "./form.js";

const NUMBERS = ["strip", "min_digits", "max_digits", "max_per_hour", "max_per_hour_per_extension"];

function render(view) {
  return crud(view, {
    title: "nav.routes", prefix: "route", path: "/api/outbound-routes", key: "prefix",
    fields: [{ name: "strip", type: "number", default: 0 }, { name: "trunk" }, { name: "prepend" }, { name: "caller_id" },
      { name: "allow" }, { name: "deny" }, { name: "min_digits", type: "number", default: 1 },
      { name: "max_digits", type: "number", default: 32 }, { name: "max_per_hour", type: "number", default: 0 },
      { name: "max_per_hour_per_extension", type: "number", default: 0 }],
    cols: [["route.prefix", (r) => r.prefix], ["route.strip", (r) => r.strip], ["route.trunk", (r) => r.trunk],
      ["route.deny", (r) => r.deny], ["route.max_per_hour", (r) => r.max_per_hour]],
  });
}

const dict = {
  "zh-CN": { ...COMMON["zh-CN"], "nav.routes": "外呼路由", "route.prefix": "前缀", "route.strip": "删除位数", "route.trunk": "中继",
    "route.prepend": "添加前缀", "route.caller_id": "主叫号码", "route.allow": "允许号段", "route.deny": "禁止号段",
    "route.min_digits": "最少位数", "route.max_digits": "最多位数", "route.max_per_hour": "每小时上限",
    "route.max_per_hour_per_extension": "每分机每小时上限" },
  en: { ...COMMON.en, "nav.routes": "Outbound routes", "route.prefix": "Prefix", "route.strip": "Strip digits", "route.trunk": "Trunk",
    "route.prepend": "Prepend", "route.caller_id": "Caller ID", "route.allow": "Allowed prefixes", "route.deny": "Denied prefixes",
    "route.min_digits": "Min digits", "route.max_digits": "Max digits", "route.max_per_hour": "Calls per hour",
    "route.max_per_hour_per_extension": "Calls per hour per extension" },
};

export default { id: "routes", roles: ["admin"], label: "nav.routes", render, dict };
