// NLTK's `word_tokenize` (nltk 3.8): sentence splitting, then the
// NLTKWordTokenizer (improved Treebank) rules on each sentence. CHAIR's
// official script tokenises lower-cased captions with it. Sentence splitting
// follows Punkt's rules without a trained model (no abbreviation list), which
// is what matters for lower-cased captions: a word ending in '.' ends a
// sentence; a number or single-letter initial ending in '.' does not when a
// lower-case word follows. `\w` and `\b` are ASCII here (Python's are Unicode).

type Rule = readonly [RegExp, string];

const STARTING_QUOTES: readonly Rule[] = [
  [/([«“‘„]|[`]+)/gu, ' $1 '],
  [/^"/g, '``'],
  [/(``)/g, ' $1 '],
  [/([ ([{<])("|'{2})/g, '$1 `` '],
  [/(')(?!re|ve|ll|m|t|s|d|n)(\w)\b/gi, '$1 $2'],
];

const PUNCTUATION: readonly Rule[] = [
  [/([^.])(\.)([\])}>"'»”’ ]*)\s*$/gu, '$1 $2 $3 '],
  [/([:,])([^\d])/g, ' $1 $2'],
  [/([:,])$/g, ' $1 '],
  [/\.{2,}/gu, ' $& '],
  [/[;@#$%&]/g, ' $& '],
  [/([^.])(\.)([\])}>"']*)\s*$/g, '$1 $2$3 '],
  [/[?!]/g, ' $& '],
  [/([^'])' /g, "$1 ' "],
  [/[*]/gu, ' $& '],
];

const PARENS_BRACKETS: Rule = [/[\][(){}<>]/g, ' $& '];
const DOUBLE_DASHES: Rule = [/--/g, ' -- '];

const ENDING_QUOTES: readonly Rule[] = [
  [/([»”’])/gu, ' $1 '],
  [/''/g, " '' "],
  [/"/g, " '' "],
  [/([^' ])('[sS]|'[mM]|'[dD]|') /g, '$1 $2 '],
  [/([^' ])('ll|'LL|'re|'RE|'ve|'VE|n't|N'T) /g, '$1 $2 '],
];

const CONTRACTIONS: readonly RegExp[] = [
  /\b(can)(not)\b/gi,
  /\b(d)('ye)\b/gi,
  /\b(gim)(me)\b/gi,
  /\b(gon)(na)\b/gi,
  /\b(got)(ta)\b/gi,
  /\b(lem)(me)\b/gi,
  /\b(more)('n)\b/gi,
  /\b(wan)(na)(?=\s)/gi,
  / ('t)(is)\b/gi,
  / ('t)(was)\b/gi,
];

/** Replace like Python's `re.sub`, which keeps scanning after each replacement (same as JS `g`). */
function applyRule(text: string, [pattern, replacement]: Rule): string {
  return text.replace(pattern, replacement);
}

/** NLTKWordTokenizer.tokenize for one sentence. */
export function treebankWordTokenize(sentence: string): string[] {
  let text = sentence;
  for (const rule of STARTING_QUOTES) text = applyRule(text, rule);
  for (const rule of PUNCTUATION) text = applyRule(text, rule);
  text = applyRule(text, PARENS_BRACKETS);
  text = applyRule(text, DOUBLE_DASHES);
  text = ` ${text} `;
  for (const rule of ENDING_QUOTES) text = applyRule(text, rule);
  for (const pattern of CONTRACTIONS) text = text.replace(pattern, ' $1 $2 ');
  return text.split(/\s+/).filter((token) => token.length > 0);
}

const NUMBER = /^-?[.,]?\d[\d,.-]*\.?$/;
const INITIAL = /^[^\W\d]\.$/;

/**
 * Punkt sentence splitting with an empty model, enough for captions: breaks
 * after '?', '!', and after a token ending in '.' unless it is an ellipsis, or
 * a number/initial followed by a lower-case word.
 */
export function splitSentences(text: string): string[] {
  const sentences: string[] = [];
  const boundary = /\S*[.?!](?=([?!)";}\]*:@'({[])|\s+(\S+))/g;
  let start = 0;
  for (const match of text.matchAll(boundary)) {
    const token = match[0];
    const end = (match.index ?? 0) + token.length;
    const next = match[2];
    if (!isBreak(token, next)) continue;
    let cut = end;
    // Punkt keeps closing punctuation with the sentence it ends.
    while (cut < text.length && /[?!)";}\]*:@'({[]/.test(text[cut] as string)) cut += 1;
    const sentence = text.slice(start, cut).trim();
    if (sentence) sentences.push(sentence);
    start = cut;
  }
  const rest = text.slice(start).trim();
  if (rest) sentences.push(rest);
  return sentences;
}

function isBreak(token: string, next: string | undefined): boolean {
  const last = token[token.length - 1];
  if (last === '?' || last === '!') return true;
  if (token.endsWith('..')) return false;
  const stem = token.replace(/^[("'[{]+/, '');
  const nextLower = next !== undefined && /^\p{Ll}/u.test(next);
  if ((NUMBER.test(stem) || INITIAL.test(stem)) && nextLower) return false;
  return true;
}

/** NLTK `word_tokenize(text)`: sentences, then Treebank word rules on each. */
export function wordTokenize(text: string): string[] {
  return splitSentences(text).flatMap(treebankWordTokenize);
}
