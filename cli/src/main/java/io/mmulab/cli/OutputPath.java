package io.mmulab.cli;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine;
import picocli.CommandLine.ParameterException;

/**
 * Checks, before a command does any work, that the files it will write can be written, so that a
 * bad output path is a one-line usage error (exit 2) instead of a failure after the whole job.
 */
final class OutputPath {
  private OutputPath() {}

  /**
   * Makes sure {@code file} can be written: not a directory, its parent directories created, and
   * the file itself opened for writing (an existing file is left as it was, a new one is removed
   * again).
   *
   * @param cmd the command, for the error
   * @param option the option that named the file, such as {@code --html}
   * @param file the file
   * @throws ParameterException naming the option, the path and the reason, if it cannot
   */
  static void requireWritableFile(CommandLine cmd, String option, Path file) {
    Path abs = file.toAbsolutePath();
    if (Files.isDirectory(abs)) {
      throw refused(cmd, option, file, "it is a directory");
    }
    Path parent = abs.getParent();
    if (parent != null && Files.exists(parent) && !Files.isDirectory(parent)) {
      throw refused(cmd, option, file, parent + " is not a directory");
    }
    try {
      Files.createDirectories(parent);
    } catch (IOException e) {
      throw refused(cmd, option, file, "cannot create the directory " + parent + ": " + reason(e));
    }
    probe(cmd, option, file, abs);
  }

  /**
   * Makes sure {@code dir} can hold the file {@code name}: created if missing, and {@code name}
   * writable in it as by {@link #requireWritableFile}.
   *
   * @param cmd the command, for the error
   * @param option the option that named the directory, such as {@code --report}
   * @param dir the directory
   * @param name the file that will be written into it
   * @throws ParameterException naming the option, the path and the reason, if it cannot
   */
  static void requireWritableDirectory(CommandLine cmd, String option, Path dir, String name) {
    Path abs = dir.toAbsolutePath();
    if (Files.exists(abs) && !Files.isDirectory(abs)) {
      throw refused(cmd, option, dir, "it is not a directory");
    }
    try {
      Files.createDirectories(abs);
    } catch (IOException e) {
      throw refused(cmd, option, dir, "cannot create it: " + reason(e));
    }
    Path file = abs.resolve(name);
    if (Files.isDirectory(file)) {
      throw refused(cmd, option, dir, file + " is a directory");
    }
    probe(cmd, option, dir, file);
  }

  private static void probe(CommandLine cmd, String option, Path named, Path file) {
    try {
      if (Files.exists(file)) {
        Files.newByteChannel(file, StandardOpenOption.WRITE).close();
      } else {
        Files.newByteChannel(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE).close();
        Files.delete(file);
      }
    } catch (IOException e) {
      throw refused(cmd, option, named, "cannot write " + file + ": " + reason(e));
    }
  }

  private static ParameterException refused(CommandLine cmd, String option, Path path, String why) {
    return new ParameterException(cmd, "cannot write " + option + " '" + path + "': " + why);
  }

  /**
   * Returns the operating system's reason for a failed file operation, without the path the
   * exception repeats.
   *
   * @param e the failure
   * @return such as {@code "Permission denied"}
   */
  static @Nullable String reason(IOException e) {
    if (e instanceof FileSystemException f && f.getReason() != null) {
      return f.getReason();
    }
    if (e instanceof AccessDeniedException) {
      return "permission denied";
    }
    if (e instanceof NoSuchFileException) {
      return "no such file or directory";
    }
    if (e instanceof NotDirectoryException) {
      return "not a directory";
    }
    if (e instanceof FileAlreadyExistsException) {
      return "a file of that name is in the way";
    }
    return e.getMessage();
  }
}
