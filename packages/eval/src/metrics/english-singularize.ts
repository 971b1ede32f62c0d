// `singularize` of the pattern library (clips/pattern, pattern/text/en/inflect.py,
// BSD licence), which CHAIR's official script applies to every caption token.
// Rule order, quirks included ("ears" stays plural because "shears" ends with
// it), follows the original.

const PLURAL_PREPOSITIONS = new Set([
  'about', 'before', 'during', 'of', 'till', 'above', 'behind', 'except', 'off', 'to', 'across', 'below',
  'for', 'on', 'under', 'after', 'beneath', 'from', 'onto', 'until', 'among', 'beside', 'in', 'out', 'unto',
  'around', 'besides', 'into', 'over', 'upon', 'at', 'between', 'near', 'since', 'with', 'athwart',
  'betwixt', 'beyond', 'but', 'by',
]);

const RULES: readonly (readonly [RegExp, string])[] = [
  [/(.)ae$/i, '$1a'],
  [/(.)itis$/i, '$1itis'],
  [/(.)eaux$/i, '$1eau'],
  [/(quiz)zes$/i, '$1'],
  [/(matr)ices$/i, '$1ix'],
  [/(ap|vert|ind)ices$/i, '$1ex'],
  [/^(ox)en/i, '$1'],
  [/(alias|status)es$/i, '$1'],
  [/([octop|vir])i$/i, '$1us'],
  [/(cris|ax|test)es$/i, '$1is'],
  [/(shoe)s$/i, '$1'],
  [/(o)es$/i, '$1'],
  [/(bus)es$/i, '$1'],
  [/([m|l])ice$/i, '$1ouse'],
  [/(x|ch|ss|sh)es$/i, '$1'],
  [/(m)ovies$/i, '$1ovie'],
  [/(.)ombies$/i, '$1ombie'],
  [/(s)eries$/i, '$1eries'],
  [/([^aeiouy]|qu)ies$/i, '$1y'],
  [/([aeo]l)ves$/, '$1f'],
  [/([^d]ea)ves$/, '$1f'],
  [/arves$/, 'arf'],
  [/erves$/, 'erve'],
  [/([nlw]i)ves$/, '$1fe'],
  [/([lr])ves$/i, '$1f'],
  [/([aeo])ves$/, '$1ve'],
  [/(sive)s$/i, '$1'],
  [/(tive)s$/i, '$1'],
  [/(hive)s$/i, '$1'],
  [/([^f])ves$/i, '$1fe'],
  [/(^analy)ses$/i, '$1sis'],
  [/((a)naly|(b)a|(d)iagno|(p)arenthe|(p)rogno|(s)ynop|(t)he)ses$/i, '$1$2sis'],
  [/(.)opses$/i, '$1opsis'],
  [/(.)yses$/i, '$1ysis'],
  [/(h|d|r|o|n|b|cl|p)oses$/i, '$1ose'],
  [/(fruct|gluc|galact|lact|ket|malt|rib|sacchar|cellul)ose$/i, '$1ose'],
  [/(.)oses$/i, '$1osis'],
  [/([ti])a$/i, '$1um'],
  [/(n)ews$/i, '$1ews'],
  [/s$/i, ''],
];

const UNINFLECTED = [
  'bison', 'debris', 'headquarters', 'pincers', 'trout', 'bream', 'diabetes', 'herpes', 'pliers', 'tuna',
  'breeches', 'djinn', 'high-jinks', 'proceedings', 'whiting', 'britches', 'eland', 'homework', 'rabies',
  'wildebeest', 'carp', 'elk', 'innings', 'salmon', 'chassis', 'flounder', 'jackanapes', 'scissors',
  'christmas', 'gallows', 'mackerel', 'series', 'clippers', 'georgia', 'measles', 'shears', 'cod', 'graffiti',
  'mews', 'species', 'contretemps', 'mumps', 'swine', 'corps', 'news', 'swiss',
];
const UNCOUNTABLE = [
  'advice', 'equipment', 'happiness', 'luggage', 'news', 'software', 'bread', 'fruit', 'information',
  'mathematics', 'progress', 'understanding', 'butter', 'furniture', 'ketchup', 'mayonnaise', 'research',
  'water', 'cheese', 'garbage', 'knowledge', 'meat', 'rice', 'electricity', 'gravel', 'love', 'mustard', 'sand',
];
const IE_WORDS = [
  'alergie', 'cutie', 'hoagie', 'newbie', 'softie', 'veggie', 'auntie', 'doggie', 'hottie', 'nightie', 'sortie',
  'weenie', 'beanie', 'eyrie', 'indie', 'oldie', 'stoolie', 'yuppie', 'birdie', 'freebie', 'junkie', '^pie',
  'sweetie', 'zombie', 'bogie', 'goonie', 'laddie', 'pixie', 'techie', 'bombie', 'groupie', 'laramie',
  'quickie', '^tie', 'collie', 'hankie', 'lingerie', 'reverie', 'toughie', 'cookie', 'hippie', 'meanie',
  'rookie', 'valkyrie',
];
/** In the original's insertion order: the first suffix that matches wins. */
const IRREGULAR: readonly (readonly [string, string])[] = [
  ['atlantes', 'atlas'], ['atlases', 'atlas'], ['axes', 'axe'], ['beeves', 'beef'], ['brethren', 'brother'],
  ['children', 'child'], ['corpora', 'corpus'], ['corpuses', 'corpus'], ['ephemerides', 'ephemeris'],
  ['feet', 'foot'], ['ganglia', 'ganglion'], ['geese', 'goose'], ['genera', 'genus'], ['genii', 'genie'],
  ['graffiti', 'graffito'], ['helves', 'helve'], ['kine', 'cow'], ['leaves', 'leaf'], ['loaves', 'loaf'],
  ['men', 'man'], ['mongooses', 'mongoose'], ['monies', 'money'], ['moves', 'move'], ['mythoi', 'mythos'],
  ['numena', 'numen'], ['occipita', 'occiput'], ['octopodes', 'octopus'], ['opera', 'opus'], ['opuses', 'opus'],
  ['our', 'my'], ['oxen', 'ox'], ['penes', 'penis'], ['penises', 'penis'], ['people', 'person'],
  ['sexes', 'sex'], ['soliloquies', 'soliloquy'], ['teeth', 'tooth'], ['testes', 'testis'],
  ['trilbys', 'trilby'], ['turves', 'turf'], ['zoa', 'zoon'],
];

/** pattern.en `singularize(word)` for nouns. */
export function singularize(word: string): string {
  if (word.includes('-')) {
    const parts = word.split('-');
    if (parts.length > 1 && PLURAL_PREPOSITIONS.has(parts[1] as string)) {
      return `${singularize(parts[0] as string)}-${parts.slice(1).join('-')}`;
    }
  }
  if (word.endsWith("'")) return `${singularize(word.slice(0, -1))}'s`;
  const lower = word.toLowerCase();
  if (UNINFLECTED.some((x) => x.endsWith(lower))) return word;
  if (UNCOUNTABLE.some((x) => x.endsWith(lower))) return word;
  if (IE_WORDS.some((x) => lower.endsWith(`${x}s`))) return lower;
  for (const [plural, singular] of IRREGULAR) {
    if (lower.endsWith(plural)) return word.replace(new RegExp(`${plural}$`, 'i'), singular);
  }
  for (const [suffix, inflection] of RULES) {
    if (suffix.test(word)) return word.replace(suffix, inflection);
  }
  return word;
}
