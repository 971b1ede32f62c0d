// The VQA answer normalisation of the official VQA evaluation (GT-Vision-Lab
// vqaEval.py) and of EvalAI's answer processor (mmf; shipped as
// m4c_evaluator.py by LLaVA and by the released VAR code). Behaviour is kept
// bug for bug: the period rule removes at most 32 periods (`re.UNICODE` is
// passed where `count` belongs), and a punctuation mark is deleted rather than
// spaced out when it touches a space anywhere in the text.
import { pySplit, pyStrip } from '../python-text.js';

const CONTRACTIONS: Readonly<Record<string, string>> = {
  aint: "ain't", arent: "aren't", cant: "can't", couldve: "could've", couldnt: "couldn't",
  "couldn'tve": "couldn't've", "couldnt've": "couldn't've", didnt: "didn't", doesnt: "doesn't",
  dont: "don't", hadnt: "hadn't", "hadnt've": "hadn't've", "hadn'tve": "hadn't've", hasnt: "hasn't",
  havent: "haven't", hed: "he'd", "hed've": "he'd've", "he'dve": "he'd've", hes: "he's", howd: "how'd",
  howll: "how'll", hows: "how's", "Id've": "I'd've", "I'dve": "I'd've", Im: "I'm", Ive: "I've",
  isnt: "isn't", itd: "it'd", "itd've": "it'd've", "it'dve": "it'd've", itll: "it'll", "let's": "let's",
  maam: "ma'am", mightnt: "mightn't", "mightnt've": "mightn't've", "mightn'tve": "mightn't've",
  mightve: "might've", mustnt: "mustn't", mustve: "must've", neednt: "needn't", notve: "not've",
  oclock: "o'clock", oughtnt: "oughtn't", "ow's'at": "'ow's'at", "'ows'at": "'ow's'at",
  "'ow'sat": "'ow's'at", shant: "shan't", "shed've": "she'd've", "she'dve": "she'd've",
  "she's": "she's", shouldve: "should've", shouldnt: "shouldn't", "shouldnt've": "shouldn't've",
  "shouldn'tve": "shouldn't've", "somebody'd": 'somebodyd', "somebodyd've": "somebody'd've",
  "somebody'dve": "somebody'd've", somebodyll: "somebody'll", somebodys: "somebody's",
  someoned: "someone'd", "someoned've": "someone'd've", "someone'dve": "someone'd've",
  someonell: "someone'll", someones: "someone's", somethingd: "something'd",
  "somethingd've": "something'd've", "something'dve": "something'd've", somethingll: "something'll",
  thats: "that's", thered: "there'd", "thered've": "there'd've", "there'dve": "there'd've",
  therere: "there're", theres: "there's", theyd: "they'd", "theyd've": "they'd've",
  "they'dve": "they'd've", theyll: "they'll", theyre: "they're", theyve: "they've", twas: "'twas",
  wasnt: "wasn't", "wed've": "we'd've", "we'dve": "we'd've", weve: "we've", werent: "weren't",
  whatll: "what'll", whatre: "what're", whats: "what's", whatve: "what've", whens: "when's",
  whered: "where'd", wheres: "where's", whereve: "where've", whod: "who'd", "whod've": "who'd've",
  "who'dve": "who'd've", wholl: "who'll", whos: "who's", whove: "who've", whyll: "why'll",
  whyre: "why're", whys: "why's", wont: "won't", wouldve: "would've", wouldnt: "wouldn't",
  "wouldnt've": "wouldn't've", "wouldn'tve": "wouldn't've", yall: "y'all", "yall'll": "y'all'll",
  "y'allll": "y'all'll", "yall'd've": "y'all'd've", "y'alld've": "y'all'd've",
  "y'all'dve": "y'all'd've", youd: "you'd", "youd've": "you'd've", "you'dve": "you'd've",
  youll: "you'll", youre: "you're", youve: "you've",
};

const NUMBER_MAP: Readonly<Record<string, string>> = {
  none: '0', zero: '0', one: '1', two: '2', three: '3', four: '4', five: '5',
  six: '6', seven: '7', eight: '8', nine: '9', ten: '10',
};

const ARTICLES = new Set(['a', 'an', 'the']);
const PUNCTUATION = [';', '/', '[', ']', '"', '{', '}', '(', ')', '=', '+', '\\', '_', '-', '>', '<', '@', '`', ',', '?', '!'];
const DIGIT_COMMA_DIGIT = /\d,\d/;
/** Python's `(?!<=\d)(\.)(?!\d)`: the first lookahead can never fail before a '.', so it is `\.(?!\d)`. */
const PERIOD_STRIP = /\.(?!\d)/g;
const PERIOD_STRIP_COUNT = 32;

const own = (table: Readonly<Record<string, string>>, key: string): string | undefined =>
  Object.prototype.hasOwnProperty.call(table, key) ? table[key] : undefined;

/** `processPunctuation` of vqaEval.py / `process_punctuation` of m4c_evaluator.py. */
export function vqaProcessPunctuation(inText: string): string {
  let outText = inText;
  const commaBetweenDigits = DIGIT_COMMA_DIGIT.test(inText);
  for (const p of PUNCTUATION) {
    if (inText.includes(`${p} `) || inText.includes(` ${p}`) || commaBetweenDigits) {
      outText = outText.replaceAll(p, '');
    } else {
      outText = outText.replaceAll(p, ' ');
    }
  }
  let removed = 0;
  return outText.replace(PERIOD_STRIP, (match) => {
    if (removed >= PERIOD_STRIP_COUNT) return match;
    removed += 1;
    return '';
  });
}

/** `processDigitArticle`: lower-case, number words to digits, drop articles, restore contractions. */
export function vqaProcessDigitArticle(inText: string): string {
  const words: string[] = [];
  for (const raw of pySplit(inText.toLowerCase())) {
    const word = own(NUMBER_MAP, raw) ?? raw;
    if (!ARTICLES.has(word)) words.push(word);
  }
  return words.map((word) => own(CONTRACTIONS, word) ?? word).join(' ');
}

/**
 * EvalAI's answer processor (`EvalAIAnswerProcessor.__call__`): what LLaVA
 * applies to every VQAv2/VizWiz answer before submission and what the TextVQA
 * evaluator applies to predictions and ground truths alike.
 */
export function evalAiNormalizeAnswer(answer: string): string {
  let item = answer.toLowerCase();
  item = item.replaceAll(',', '').replaceAll('?', '').replaceAll("'s", " 's");
  item = pyStrip(item);
  item = pyStrip(item.replaceAll('\n', ' ').replaceAll('\t', ' '));
  item = vqaProcessPunctuation(item);
  return vqaProcessDigitArticle(item);
}
