/**
 * The prompt-injection heuristics: phrases that try to override instructions,
 * exfiltrate the system prompt or secrets, switch roles, fake a role tag,
 * claim an authority that waives a control, or talk the agent out of its
 * approvals and budgets — in English and in the other languages of the
 * labelled sample (de, fr, es, it, pt, nl, pl, ru, zh, ja). Each has a score;
 * a text is flagged at {@link INJECTION_THRESHOLD}, so one loose word does not
 * reject ordinary text. They run on normalised views (`normalise.ts`), never on
 * raw text. Tuned on the sample's dev part only; `npm run bench` reports the
 * frozen test part.
 */
export interface Heuristic {
  name: string;
  score: number;
  pattern: RegExp;
}

export const INJECTION_THRESHOLD = 2;

const EN: Heuristic[] = [
  {
    name: 'override',
    score: 2,
    pattern:
      /\b(ignore|disregard|forget|override|bypass|set\s+aside|stop\s+following)\b[^.]{0,40}\b(previous|prior|above|earlier|all|your|the|any|system)\b[^.]{0,30}\b(instructions?|prompts?|rules?|guidelines?|directions?|polic(y|ies)|guardrails?|constraints?|limits?|controls?|approval\s+(step|limits?|process)|checks)\b/i,
  },
  {
    name: 'new-instructions',
    score: 2,
    pattern:
      /\b(new|updated|real|actual)\s+(system\s+)?(instructions?|prompt|task)\s*[:：]|\byour\s+new\s+(instruction\s+set|instructions)\b/i,
  },
  {
    name: 'system-prompt-leak',
    score: 2,
    pattern:
      /\b(reveal|print|show|repeat|output|leak|display|paste|translate|append)\b[^.]{0,40}\b(system\s+(prompt|message)|hidden\s+(prompt|instructions?)|your\s+(instructions?|prompt|initial\s+configuration)|confidential\s+rules|tools?\s+you\s+have)\b/i,
  },
  {
    name: 'controls-lifted',
    score: 2,
    pattern:
      /\b(rules?|constraints?|limits?|instructions?|policies|checks|controls|caps?|budgets?)\b[^.]{0,40}\b(no\s+longer\s+apply|were\s+(just\s+)?a\s+test|(is|are)\s+(now\s+)?(off|lifted|suspended|disabled|waived))\b/i,
  },
  {
    name: 'prompt-probe',
    score: 2,
    pattern:
      /\bwhat\s+were\s+you\s+told\s+before\b|\b(first|initial)\s+message\s+you\s+received\b|\bwho\s+wrote\s+your\s+prompt\b/i,
  },
  {
    name: 'prompt-probe-weak',
    score: 1,
    pattern: /\b(wrote|lost)\s+your\s+prompt\b|\bword\s+for\s+word\b|\bverbatim\b|\bpaste\s+it\s+back\b/i,
  },
  {
    name: 'pretend',
    score: 1,
    pattern:
      /\b(pretend|imagine)\s+(you\s+are|to\s+be|you're)\b|\broleplay\s+as\b|\blet's\s+play\s+a\s+game\b/i,
  },
  {
    name: 'unlimited-authority',
    score: 1,
    pattern:
      /\bunlimited\s+(signing\s+)?(authority|access|budget)\b|\bwithout\s+(any\s+)?(review|checks?|checking|limits|restrictions|filters)\b/i,
  },
  {
    name: 'secret-material',
    score: 1,
    pattern:
      /\b(api\s*keys?|passwords?(?!\s+reset)|secret\s+(access\s+)?keys?|access\s+tokens?|credentials|environment\s+variables|card\s+numbers?|cvv)\b/i,
  },
  {
    name: 'personal-destination',
    score: 1,
    pattern:
      /\b(my|a)\s+(personal|private)\s+(account|e-?mail|address)\b|\bmy\s+gmail\b|\bexternal\s+link\b|\bpastebin\b/i,
  },
  {
    name: 'destructive-verb',
    score: 1,
    pattern:
      /\bdrop[_\s]table\b|\bdelete\s+(all|every)\b|\bvoid_invoice\b|\b(wipe|purge)\b|\bdelete\b[^.]{0,20}\bfunction\b|\bmove\s+the\s+entire\b/i,
  },
  {
    name: 'bulk-action',
    score: 1,
    pattern:
      /\b(on\s+)?(every|all)\s+(invoices?|vendor\s+records?|held\s+payments|pending\s+invoices|flagged\s+vendors)\b/i,
  },
  {
    name: 'verification-bypass',
    score: 1,
    pattern:
      /\bno\s+need\s+(to\s+)?(check|verify|ask|for\s+approval)\b|\b(don't|do\s+not|never)\s+(mention|tell|report|disclose)\b[^.]{0,20}\b(it|this|anyone|finance|the\s+user)\b/i,
  },
  {
    name: 'role-switch',
    score: 2,
    pattern:
      /\byou\s+are\s+now\b|\bact\s+as\s+(an?\s+)?(unrestricted|jailbroken|dan\b|developer\s+mode)|\b(developer|maintenance|admin|god)\s+mode\b|\bjailbreak|\bdo\s+anything\s+now\b|\bwith\s+no\s+restrictions\b|\bunrestricted\s+\w+\s+(bot|assistant|ai)\b/i,
  },
  {
    name: 'fake-role-tag',
    score: 2,
    pattern:
      /(^|\n)\s*(system|assistant)\s*[:>]|<\/?\s*(system|assistant|instructions?)\s*>|\[\s*(system|inst)\s*\]|#{2,}\s*system\b|\b(system|important)\s+notice\s*:|(^|[\s"'])assistant\s*:/i,
  },
  {
    name: 'tool-coercion',
    score: 1,
    pattern:
      /\b(call|invoke|use|run|execute|trigger)\b[^.]{0,20}\b(tool|function|job)\b[^.]{0,40}\b(void|delete|drop|transfer|wire|refund|pay|payment|move)\b|\b(call|invoke|execute|run)\s+(the\s+)?[a-z]+_[a-z_]+\b/i,
  },
  {
    name: 'exfiltration',
    score: 1,
    pattern:
      /\b(send|post|upload|forward|email|export)\b[^.]{0,40}\b(credentials?|api\s*keys?|passwords?|secrets?|tokens?|environment\s+variables|bank\s+(list|details\s+table)|account\s+list)\b/i,
  },
  {
    name: 'urgency-authority',
    score: 1,
    pattern:
      /\b(as\s+(your|the)\s+(administrator|admin|developer|ceo|owner))\b|\bthis\s+is\s+(the\s+ceo|an?\s+(authorized|official)\s+(override|request))\b|\b(i\s+am|i'm)\s+(from\s+the\s+\w+\s+team|the\s+developer)\b/i,
  },
  {
    name: 'authority-waiver',
    score: 2,
    pattern:
      /\b(pre-?approved|pre-?authori[sz]ed|already\s+(approved|signed\s+off)|signed\s+off\s+on\s+this|has\s+cleared\s+this|approval\s+was\s+given|(are|am)\s+(authori[sz]ed|permitted)\s+to\s+(override|bypass|ignore|skip))\b[^.]{0,80}\b(no\s+approval|without|skip|bypass|override|ignore|do\s+not\s+(request|ask)|treat|so\s+no|controls?)\b/i,
  },
  {
    name: 'approval-bypass',
    score: 2,
    pattern:
      /\b(skip|bypass|avoid|disable|without\s+(asking\s+for|an?|the|any)?)\s*(the\s+)?([\w-]+\s+match\s+and\s+the\s+)?(approvals?|approval\s+(step|gate|workflow)|review|second\s+approver)\b(?!\s+flow)|\b(do\s+not|don't|never)\s+(ask|wait)\s+for\s+(an?\s+)?approval\b|\bso\s+(that\s+)?none\s+of\s+them\s+needs?\s+approval\b|\bapprove\s+your\s+own\b|\b(record|mark|log|set|flag|register)\b[^.]{0,30}\bapprovals?\b[^.]{0,20}\b(given|granted|obtained|done|completed?)\b|\b(change|raise|increase)\s+the\s+amount\b[^.]{0,40}\b(after|without)\b[^.]{0,20}\bapprov/i,
  },
  {
    name: 'budget-bypass',
    score: 2,
    pattern:
      /\b(ignore|disable|raise|remove|lift)\b[^.]{0,20}\b(token\s+budget|spending\s+limit|budget\s+limits?|step\s+limit|cost\s+limit)\b|\b(limit|budget)\s+does\s+not\s+apply\b|\bin\s+a\s+loop\s+forever\b|\b(a\s+hundred|100|\d{3,})\s+times\b|\b(retry\w*|repeat\w*|loop\w*|keep\s+going)\b[^.]{0,30}\bforever\b/i,
  },
  {
    name: 'encoding-trick',
    score: 1,
    pattern:
      /\b(base64|rot13|hex)[-\s]*(decode|encoded|instruction)\b|\b(decode|rot13|backwards|reversed?)\b[^.]{0,30}\b(follow|obey|do\s+what)/i,
  },
  {
    name: 'chat-template-token',
    score: 2,
    pattern: /<\|(im_start|im_end|system|endoftext)\|>|\[\/?INST\]|<<\/?SYS>>/i,
  },
  { name: 'json-role-object', score: 2, pattern: /"role"\s*:\s*"(system|developer)"/i },
  {
    name: 'forget-context',
    score: 2,
    pattern:
      /\b(forget|ignore|disregard)\s+(everything|all)\s+(above|before|previous|prior|you\s+were\s+told)\b/i,
  },
  {
    name: 'from-now-on',
    score: 1,
    pattern: /\bfrom\s+(now\s+on|this\s+(point|moment)|here\s+on)\b[^.]{0,60}\b(you|your)\b/i,
  },
  {
    name: 'credential-request',
    score: 1,
    pattern:
      /\b(what\s+is|give\s+me|tell\s+me|list|print|include)\b[^.?]{0,40}\b(secret|api|access)\s*(key|token)s?\b/i,
  },
  {
    name: 'agent-address',
    score: 1,
    pattern:
      /\b(ai\s+agents?|note\s+to\s+ai|llms?|language\s+models?)\b[^.]{0,40}\b(reading|ignore|must|should|disregard)\b|\b(any|the|dear|hey|attention|to)\s+(ai|assistants?|bots?|agents?)\s+(reading|processing|handling|parsing)\b/i,
  },
  {
    name: 'authority-claim',
    score: 1,
    pattern:
      /\b(per|according\s+to|on\s+behalf\s+of|on\s+the\s+orders?\s+of|by\s+order\s+of)\s+(the\s+|our\s+)?(cfo|ceo|coo|cto|controller|treasurer|finance\s+director|management|board)\b/i,
  },
  {
    name: 'control-exemption',
    score: 1,
    pattern:
      /\bexempt\s+(from|of)\s+(the\s+)?(usual\s+|normal\s+|standard\s+|regular\s+)?(review|approvals?|checks?|controls?|verification|sign-?off)\b/i,
  },
  {
    name: 'approval-structuring',
    score: 2,
    pattern:
      /\b(split|break|divide|spread)\b[^.]{0,80}\b(under|below|beneath)\s+(the\s+)?(approval|review|sign-?off)\s+(threshold|limit)s?\b/i,
  },
  {
    name: 'unbounded-effort',
    score: 1,
    pattern: /\bno\s+matter\s+how\s+(many|much|long)\b/i,
  },
  {
    name: 'persist-until',
    score: 1,
    pattern: /\b(keep|continue)\s+(retrying|trying|calling|looping|running|going)\b[^.]{0,40}\buntil\b/i,
  },
  { name: 'long-base64-blob', score: 1, pattern: /[A-Za-z0-9+/]{60,}={0,2}/ },
];

/** The same families in the sample's other languages (override, prompt leak, role switch). */
const OTHER_LANGUAGES: Heuristic[] = [
  {
    name: 'override-de',
    score: 2,
    pattern:
      /(?:\b(ignoriere|ignorier|vergiss|missachte)\b|übergehe)[^.]{0,40}\b(vorherigen|bisherigen|alle|deine|die)\b[^.]{0,30}\b(anweisungen|regeln|instruktionen|richtlinien|vorgaben)\b/i,
  },
  {
    name: 'override-fr',
    score: 2,
    pattern:
      /\b(ignore|ignorez|oublie|oubliez|contourne)\b[^.]{0,40}\b(toutes|tes|vos|les)\b[^.]{0,30}\b(instructions|règles|consignes)\b/i,
  },
  {
    name: 'override-es-pt-it',
    score: 2,
    pattern:
      /\b(ignora|ignore|olvida|olvide|esquece|esqueça|dimentica)\b[^.]{0,40}\b(todas|tus|tuas|suas|tutte|le|las|as)\b[^.]{0,30}\b(instrucciones|instruções|istruzioni|reglas|regras|regole)\b/i,
  },
  {
    name: 'override-nl-pl',
    score: 2,
    pattern:
      /\b(negeer|vergeet|zignoruj|zapomnij)\b[^.]{0,40}\b(alle|wszystkie|je|swoje)\b[^.]{0,30}\b(instructies|regels|instrukcje|zasady)\b/i,
  },
  {
    name: 'override-ru',
    score: 2,
    pattern: /(игнорируй|забудь|проигнорируй|не\s+обращай\s+внимания)[^.]{0,40}(инструкци|правил|указани)/i,
  },
  {
    name: 'override-zh',
    score: 2,
    pattern: /(忽略|无视|忘记|忘掉)[^。]{0,10}(之前|以前|先前|所有|上面)?[^。]{0,10}(指令|指示|规则|说明)/,
  },
  { name: 'override-ja', score: 2, pattern: /(以前|これまで|前)の(指示|命令|ルール)[^。]{0,10}(無視|忘れ)/ },
  {
    name: 'prompt-leak-intl',
    score: 2,
    pattern:
      /\b(zeig|zeige|affiche|montre|muestra|mostra|mostre|toon)\b[^.]{0,30}\b(systemprompt|system-prompt|prompt\s+(système|systeme|del\s+sistema|do\s+sistema|di\s+sistema))\b|(покажи|выведи)[^.]{0,30}системн\S*\s+промпт|(显示|输出|告诉我)[^。]{0,10}系统提示/i,
  },
  {
    name: 'role-switch-intl',
    score: 2,
    pattern:
      /\b(tu\s+es\s+maintenant|du\s+bist\s+jetzt|ahora\s+eres|agora\s+você\s+é|ora\s+sei)\b|\bsans\s+restrictions\b|\bohne\s+einschränkungen\b|\bsin\s+restricciones\b/i,
  },
];

export const INJECTION_HEURISTICS: readonly Heuristic[] = [...EN, ...OTHER_LANGUAGES];
