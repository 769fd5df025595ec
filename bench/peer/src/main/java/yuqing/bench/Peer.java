package yuqing.bench;

import com.github.houbb.sensitive.word.bs.SensitiveWordBs;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Runs houbb/sensitive-word with its default options over the files bench/match.py writes and
 * prints one JSON object per line: compile time, short texts per second, MB/s over 2 KB items,
 * and for each evasion case whether it was found.
 *
 * <p>Arguments: words.txt short.txt items.txt cases.tsv (one entry per line; items and cases
 * have their line breaks escaped as \n; cases are id TAB word TAB text).
 */
public final class Peer {
  private Peer() {}

  public static void main(String[] args) throws IOException {
    List<String> words = lines(args[0]);
    List<String> shortTexts = unescaped(lines(args[1]));
    List<String> items = unescaped(lines(args[2]));
    long start = cpuNanos();
    SensitiveWordBs bs = SensitiveWordBs.newInstance().wordDeny(() -> words).init();
    double compile = (cpuNanos() - start) / 1e9;
    System.out.printf("{\"compile_s\": %.3f}%n", compile);

    // Warm the JIT up, then time chunk by chunk, each chunk's best of five (as bench/match.py
    // does: a burst of load on the shared machine spoils one sample, not the figure).
    for (String text : shortTexts) {
      bs.findAll(text);
    }
    for (String item : items) {
      bs.findAll(item);
    }
    double[] shortRun = timed(bs, shortTexts, 500);
    System.out.printf(
        "{\"short_texts_per_s\": %.1f, \"short_hits\": %d}%n",
        shortTexts.size() / shortRun[0],
        (long) shortRun[1]);
    long bytes = 0;
    for (String item : items) {
      bytes += item.getBytes(StandardCharsets.UTF_8).length;
    }
    double[] itemRun = timed(bs, items, 40);
    System.out.printf(
        "{\"items_mb_per_s\": %.2f, \"item_hits\": %d}%n", bytes / 1e6 / itemRun[0], (long) itemRun[1]);

    if (args.length > 3) {
      for (String line : lines(args[3])) {
        String[] parts = line.split("\t", 3);
        String word = parts[1];
        SensitiveWordBs one = SensitiveWordBs.newInstance().wordDeny(() -> List.of(word)).init();
        boolean found = one.contains(parts[2].replace("\\n", "\n"));
        System.out.printf("{\"case\": \"%s\", \"found\": %b}%n", parts[0], found);
      }
    }
  }

  /** Seconds (sum of each chunk's best of five) and hits over {@code texts}. */
  private static double[] timed(SensitiveWordBs bs, List<String> texts, int chunk) {
    double total = 0;
    long hits = 0;
    for (int first = 0; first < texts.size(); first += chunk) {
      List<String> part = texts.subList(first, Math.min(texts.size(), first + chunk));
      double best = Double.MAX_VALUE;
      long found = 0;
      for (int round = 0; round < 5; round++) {
        long t = cpuNanos();
        found = 0;
        for (String text : part) {
          found += bs.findAll(text).size();
        }
        best = Math.min(best, (cpuNanos() - t) / 1e9);
      }
      total += best;
      hits += found;
    }
    return new double[] {total, hits};
  }

  /**
   * CPU time of the whole JVM (its garbage collector's and compiler's threads too): on a shared
   * machine, wall time counts the neighbours' load as well.
   */
  private static long cpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
        .getProcessCpuTime();
  }

  private static List<String> lines(String path) throws IOException {
    List<String> out = new ArrayList<>();
    for (String line : Files.readAllLines(Path.of(path), StandardCharsets.UTF_8)) {
      if (!line.isEmpty()) {
        out.add(line);
      }
    }
    return out;
  }

  private static List<String> unescaped(List<String> lines) {
    List<String> out = new ArrayList<>(lines.size());
    for (String line : lines) {
      out.add(line.replace("\\n", "\n"));
    }
    return out;
  }
}
