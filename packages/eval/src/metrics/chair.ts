// CHAIR (Rohrbach et al., EMNLP 2018) as the official utils/chair.py of
// LisaAnne/Hallucination computes it: caption words are lower-cased,
// tokenised (NLTK), singularised (pattern.en), COCO double words merged, then
// mapped to COCO objects through the synonym list. CHAIR_s is the share of
// captions with a hallucinated object, CHAIR_i the share of mentioned objects
// that are hallucinated. Recall and length are the usual companions in LVLM
// papers (not in chair.py): covered ground-truth objects / ground-truth
// objects, and mean caption length in whitespace-separated words.
import { singularize } from './english-singularize.js';
import { wordTokenize } from './word-tokenize.js';

const COCO_DOUBLE_WORDS = [
  'motor bike', 'motor cycle', 'air plane', 'traffic light', 'street light', 'traffic signal', 'stop light',
  'fire hydrant', 'stop sign', 'parking meter', 'suit case', 'sports ball', 'baseball bat', 'baseball glove',
  'tennis racket', 'wine glass', 'hot dog', 'cell phone', 'mobile phone', 'teddy bear', 'hair drier',
  'potted plant', 'bow tie', 'laptop computer', 'stove top oven', 'hot dog', 'teddy bear', 'home plate',
  'train track',
];
const ANIMAL_WORDS = ['bird', 'cat', 'dog', 'horse', 'sheep', 'cow', 'elephant', 'bear', 'zebra', 'giraffe', 'animal', 'cub'];
const VEHICLE_WORDS = ['jet', 'train'];

/** The synonym table: every COCO object word and the object it names. */
export interface ChairVocabulary {
  /** word → COCO object (first word of its synonyms line). */
  readonly objectOf: ReadonlyMap<string, string>;
  /** two-word phrase → the single word it is read as. */
  readonly doubleWords: ReadonlyMap<string, string>;
}

/** Build the vocabulary from synonyms.txt (one COCO object per line: `name, synonym, synonym, ...`). */
export function chairVocabulary(synonymsText: string): ChairVocabulary {
  const objectOf = new Map<string, string>();
  // Python's readlines(): a final line without '\n' still counts, an empty tail does not.
  const lines = synonymsText.split(/(?<=\n)/).filter((line) => line.length > 0);
  for (const line of lines) {
    const synonyms = line.trim().split(', ');
    for (const word of synonyms) objectOf.set(word, synonyms[0] as string);
  }
  const doubleWords = new Map<string, string>();
  for (const word of COCO_DOUBLE_WORDS) doubleWords.set(word, word);
  for (const animal of ANIMAL_WORDS) {
    doubleWords.set(`baby ${animal}`, animal);
    doubleWords.set(`adult ${animal}`, animal);
  }
  for (const vehicle of VEHICLE_WORDS) doubleWords.set(`passenger ${vehicle}`, vehicle);
  doubleWords.set('bow tie', 'tie');
  doubleWords.set('toilet seat', 'toilet');
  doubleWords.set('wine glas', 'wine glass');
  return { objectOf, doubleWords };
}

/** `caption_to_words`: the COCO object words of a caption and the objects they name. */
export function captionObjects(caption: string, vocabulary: ChairVocabulary): { words: string[]; objects: string[] } {
  const tokens = wordTokenize(caption.toLowerCase()).map(singularize);
  let merged: string[] = [];
  for (let i = 0; i < tokens.length; ) {
    const pair = tokens.slice(i, i + 2).join(' ');
    const replacement = vocabulary.doubleWords.get(pair);
    if (replacement !== undefined) {
      merged.push(replacement);
      i += 2;
    } else {
      merged.push(tokens[i] as string);
      i += 1;
    }
  }
  // "the seat of the toilet" must not count as a chair.
  if (merged.includes('toilet') && merged.includes('seat')) merged = merged.filter((word) => word !== 'seat');
  const words = merged.filter((word) => vocabulary.objectOf.has(word));
  return { words, objects: words.map((word) => vocabulary.objectOf.get(word) as string) };
}

/** COCO instances (segmentation) annotations and captions, enough for CHAIR's ground truth. */
export interface CocoGroundTruthInput {
  readonly categories: readonly { id: number; name: string }[];
  readonly instances: readonly { image_id: number; category_id: number }[];
  readonly captions: readonly { image_id: number; caption: string }[];
}

/** Ground-truth objects per image: from segmentation labels and from the human captions (`get_annotations`). */
export function chairGroundTruth(
  imageIds: Iterable<number>,
  coco: CocoGroundTruthInput,
  vocabulary: ChairVocabulary,
): Map<number, Set<string>> {
  const truth = new Map<number, Set<string>>();
  for (const id of imageIds) truth.set(id, new Set());
  const nameOf = new Map(coco.categories.map((category) => [category.id, category.name]));
  for (const annotation of coco.instances) {
    const objects = truth.get(annotation.image_id);
    if (!objects) continue;
    const name = nameOf.get(annotation.category_id);
    const object = name === undefined ? undefined : vocabulary.objectOf.get(name);
    if (object !== undefined) objects.add(object);
  }
  for (const annotation of coco.captions) {
    const objects = truth.get(annotation.image_id);
    if (!objects) continue;
    for (const object of captionObjects(annotation.caption, vocabulary).objects) objects.add(object);
  }
  return truth;
}

/** Per-caption CHAIR detail. */
export interface ChairCaptionResult {
  readonly imageId: number;
  readonly mentioned: readonly string[];
  readonly hallucinated: readonly string[];
}

/** CHAIR over a set of captions (fractions in [0, 1]; `length` in words). */
export interface ChairScores {
  readonly chairS: number;
  readonly chairI: number;
  readonly recall: number;
  readonly length: number;
  readonly captions: number;
  readonly perCaption: readonly ChairCaptionResult[];
}

/** `compute_chair`, plus recall and length. */
export function chairScores(
  captions: readonly { imageId: number; caption: string }[],
  truth: ReadonlyMap<number, ReadonlySet<string>>,
  vocabulary: ChairVocabulary,
): ChairScores {
  let hallucinatedCaptions = 0;
  let hallucinatedWords = 0;
  let cocoWords = 0;
  let covered = 0;
  let truthCount = 0;
  let words = 0;
  const perCaption: ChairCaptionResult[] = [];
  for (const { imageId, caption } of captions) {
    const gt = truth.get(imageId) ?? new Set<string>();
    const { objects } = captionObjects(caption, vocabulary);
    cocoWords += objects.length;
    const hallucinated = objects.filter((object) => !gt.has(object));
    hallucinatedWords += hallucinated.length;
    if (hallucinated.length > 0) hallucinatedCaptions += 1;
    const mentionedTrue = new Set(objects.filter((object) => gt.has(object)));
    covered += mentionedTrue.size;
    truthCount += gt.size;
    words += caption.split(/\s+/).filter((word) => word.length > 0).length;
    perCaption.push({ imageId, mentioned: objects, hallucinated });
  }
  return {
    chairS: hallucinatedCaptions / captions.length,
    chairI: hallucinatedWords / cocoWords,
    recall: covered / truthCount,
    length: words / captions.length,
    captions: captions.length,
    perCaption,
  };
}
