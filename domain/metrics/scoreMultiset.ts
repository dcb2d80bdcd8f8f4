/**
 * Exact multiset of scores with counts. Unit additions go to an unsorted buffer that is
 * sorted and merged into the distinct (score, count) arrays when full; the buffer is kept
 * at least as large as the distinct set, so the amortised cost per add is O(log n) and
 * adding allocates nothing.
 */
export class ScoreMultiset {
  private raw = new Float64Array(256);
  private rawSize = 0;
  private scores = new Float64Array(0);
  private counts = new Float64Array(0);

  add(score: number): void {
    if (this.rawSize === this.raw.length) {
      this.compact();
      if (this.raw.length < this.scores.length)
        this.raw = new Float64Array(2 ** Math.ceil(Math.log2(this.scores.length)));
    }
    this.raw[this.rawSize++] = score;
  }

  /** Add sorted distinct (score, count) pairs. */
  addSorted(scores: ArrayLike<number>, counts: ArrayLike<number>): void {
    this.compact();
    this.mergeIn(scores, counts, scores.length);
  }

  /** Distinct scores ascending with their counts. */
  entries(): { scores: Float64Array; counts: Float64Array } {
    this.compact();
    return { scores: this.scores, counts: this.counts };
  }

  private compact(): void {
    if (this.rawSize === 0) return;
    const raw = this.raw.subarray(0, this.rawSize).sort();
    const scores = new Float64Array(raw.length);
    const counts = new Float64Array(raw.length);
    let m = 0;
    for (let i = 0; i < raw.length; i++) {
      if (m > 0 && scores[m - 1] === raw[i]) counts[m - 1]++;
      else {
        scores[m] = raw[i];
        counts[m++] = 1;
      }
    }
    this.rawSize = 0;
    this.mergeIn(scores, counts, m);
  }

  private mergeIn(scores: ArrayLike<number>, counts: ArrayLike<number>, m: number): void {
    const a = this.scores;
    const ac = this.counts;
    const outScores = new Float64Array(a.length + m);
    const outCounts = new Float64Array(a.length + m);
    let i = 0;
    let j = 0;
    let k = 0;
    while (i < a.length || j < m) {
      if (j >= m || (i < a.length && a[i] < scores[j])) {
        outScores[k] = a[i];
        outCounts[k++] = ac[i++];
      } else if (i >= a.length || scores[j] < a[i]) {
        outScores[k] = scores[j];
        outCounts[k++] = counts[j++];
      } else {
        outScores[k] = a[i];
        outCounts[k++] = ac[i++] + counts[j++];
      }
    }
    this.scores = outScores.subarray(0, k);
    this.counts = outCounts.subarray(0, k);
  }
}
