/**
 * The lecture's CNN (lecture-cnn-model.ts, re-exported here) and the loading of
 * its data sets, shared by chapters 01–04, the grid worker, the benchmark and the tests.
 */
import { type Split } from "../../lib/data.ts";
import { loadDataset } from "./datasets.ts";
import { splitImages } from "./lecture-cnn-model.ts";

export * from "./lecture-cnn-model.ts";

/** How many MNIST digits a chapter uses: all 10,000, or 2,000 with --quick. */
export function mnistCount(quick: boolean): number {
  return quick ? 2000 : 10000;
}

/**
 * The lecture's data preparation: to_categorical on the labels, then
 * train_test_split(inputs, labels, train_size=0.8) with the seed. With
 * dataset 'mnist', the first `mnistImages` of the shuffled 10,000 digits.
 */
export function prepareData(dataset: string, seed: number, mnistImages = 10000): Split & { inputShape: number[]; source: string } {
  const d = loadDataset(dataset, { mnistCount: mnistImages, seed });
  return { ...splitImages(d, seed), source: d.source };
}
