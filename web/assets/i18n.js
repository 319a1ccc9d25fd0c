// UI dictionaries: zh-CN (the seeds' terms, SPEC §5) and en. Every visible string comes from here.
export const DICT = {
  "zh-CN": {
    "login.title": "登录", "login.username": "用户名", "login.password": "密码", "login.submit": "登录",
    "login.failed": "用户名或密码错误", "logout": "退出",
    "nav.workspace": "坐席工作台", "nav.audit": "客服日志", "nav.tokens": "API 令牌", "nav.ivr": "IVR语音导航",
    "phonebar": "电话条", "agent.state": "坐席状态", "state.idle": "空闲", "state.break": "小休",
    "state.offline": "离线", "state.busy": "忙碌", "state.talking": "通话中", "state.ringing": "振铃",
    "state.wrap-up": "话后处理", "state.invisible": "隐身", "state.unknown": "未知",
    "screenpop": "来电弹屏", "summary": "服务小结", "ticket": "工单", "contactplan": "联系计划",
    "skillgroup": "技能组", "forbidden": "无权访问此页面", "live": "实时", "audit.when": "时间",
    "audit.who": "操作人", "audit.action": "操作", "audit.target": "对象", "audit.status": "结果",
    "nav.section.work": "工作台", "nav.section.monitor": "监控与统计", "nav.section.agents": "坐席与技能组",
    "nav.section.routing": "呼叫路由", "nav.section.service": "客户与服务", "nav.section.system": "系统",
  },
  "en": {
    "login.title": "Sign in", "login.username": "Username", "login.password": "Password", "login.submit": "Sign in",
    "login.failed": "Wrong username or password", "logout": "Sign out",
    "nav.workspace": "Agent workspace", "nav.audit": "Audit log", "nav.tokens": "API tokens", "nav.ivr": "IVR",
    "phonebar": "Phone bar", "agent.state": "Agent state", "state.idle": "Idle", "state.break": "Break",
    "state.offline": "Offline", "state.busy": "Busy", "state.talking": "Talking", "state.ringing": "Ringing",
    "state.wrap-up": "Wrap-up", "state.invisible": "Invisible", "state.unknown": "Unknown",
    "screenpop": "Screen pop", "summary": "Service summary", "ticket": "Ticket", "contactplan": "Contact plan",
    "skillgroup": "Skill group", "forbidden": "You may not open this page", "live": "Live", "audit.when": "When",
    "audit.who": "Who", "audit.action": "Action", "audit.target": "Target", "audit.status": "Status",
    "nav.section.work": "Work", "nav.section.monitor": "Monitoring and reports", "nav.section.agents": "Agents and groups",
    "nav.section.routing": "Call routing", "nav.section.service": "Customers and service", "nav.section.system": "System",
  },
};

let lang = localStorage.getItem("bl.lang") || (navigator.language.startsWith("zh") ? "zh-CN" : "en");
if (!DICT[lang]) lang = "zh-CN";

/** The current language. */
export function current() { return lang; }

/** Switches and remembers the language. */
export function setLang(l) { if (DICT[l]) { lang = l; localStorage.setItem("bl.lang", l); } }

/** Adds a page's labels ({"zh-CN": {...}, en: {...}}); every page ships both languages. */
export function register(dict) {
  for (const [l, entries] of Object.entries(dict)) if (DICT[l]) Object.assign(DICT[l], entries);
}

/** The label for a key in the current language (the key itself if missing). */
export function t(key) { return DICT[lang][key] ?? DICT.en[key] ?? key; }

/** Fills every [data-i18n] element's text (textContent: never parsed as HTML). */
export function apply(root = document) {
  document.documentElement.lang = lang;
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
}
