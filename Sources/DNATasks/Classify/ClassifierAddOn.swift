import FileOutput
import Foundation
import MambaModel

/// What `train --task sketch` and `train --task profile` share: both copy a classifier directory (`--init`) and add
/// one file built from labelled reads of the classifier's classes.
enum ClassifierAddOn {

    /// The `--init` directory and its class names. Throws one line when it is not given (`task` names the train
    /// task in the message), does not exist or is not a classifier model directory.
    static func classifier(_ initFrom: String?, task: String) throws -> (directory: String, labels: [String]) {
        guard let dir = initFrom else { throw ToolError("--task \(task) needs --init CLASSIFIER_DIR (the model it extends)") }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
            throw ToolError("--init \(dir): no such directory")
        }
        guard ClassifierDirectory.isClassifier(dir) else {
            throw ToolError("--init \(dir): not a classifier model directory (its config.json does not declare "
                          + "\(SequenceClassifier.architecture))")
        }
        return (dir, try ClassifierDirectory.load(dir).labels)
    }

    /// The checks both tasks make before reading: the `--init` classifier (as `classifier`), at least one input, and
    /// the output directory (`ClassifierTraining.outputURL`: an existing one only with `force`).
    static func prepare(initFrom: String?, task: String, inputs: [String], output: String,
                        force: Bool) throws -> (directory: String, labels: [String], out: URL) {
        let (dir, labels) = try classifier(initFrom, task: task)
        guard !inputs.isEmpty else { throw ToolError("no input reads given") }
        return (dir, labels, try ClassifierTraining.outputURL(output, force: force))
    }

    /// Calls `body(bases, classIndex)` for every labelled read of `inputs`, in file order. Throws one line for a read
    /// without a label, a label that is not one of `labels`, and for input errors.
    static func forEachRead(inputs: [String], labelKey: String, labelsFile: String?, reference: String?, labels: [String],
                            _ body: ([UInt8], Int) throws -> Void) throws {
        let index = Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($0.element, $0.offset) })
        try LabelledInput.forEachLabelled(inputs: inputs, labelKey: labelKey, labelsFile: labelsFile,
                                          reference: reference) { path, read, label in
            guard let c = index[label] else {
                throw ToolError("\(path): read '\(read.name)' has label '\(label)', which is not one of the classifier's "
                              + "classes (\(labels.joined(separator: ", ")))")
            }
            try body(read.bases, c)
        }
    }

    /// Writes `out` (from `ClassifierTraining.outputURL`) as a copy of `initDir` plus the file `fileName`, which
    /// `save(path)` writes and `verify(directory)` checks by loading it back; returns that file's size in bytes.
    /// The directory is filled under a temporary sibling name and renamed into place, so a failure leaves nothing.
    /// Files named in `replacing` (earlier names of the new file) and in `stale` (ones the new file invalidates) are
    /// not copied; `log` says so for each stale one left out.
    static func write(_ out: URL, copying initDir: String, fileName: String, replacing: [String] = [], stale: [String] = [],
                      log: (String) -> Void = { _ in }, save: (String) throws -> Void,
                      verify: (String) throws -> Bool) throws -> Int {
        var fileSize = 0
        try ClassifierTraining.writeOutput(out) { tmp in
            try copyRegularFiles(from: initDir, to: tmp, skipping: Set([fileName] + replacing + stale))
            for name in stale where FileManager.default.fileExists(atPath: initDir + "/" + name) {
                log("\(name) of --init not copied: the new \(fileName) changes what it was fitted to")
            }
            let path = tmp.appendingPathComponent(fileName).path
            try save(path)
            fileSize = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
            guard try verify(tmp.path) else {
                throw ToolError("internal error: the saved \(fileName) does not reproduce the built one")
            }
        }
        return fileSize
    }

    /// Copies every regular file of `source` (symbolic links followed; subdirectories and the files named in
    /// `skipping`, the one being replaced among them, skipped) into `destination`, created here, writable by the owner.
    static func copyRegularFiles(from source: String, to destination: URL, skipping: Set<String>) throws {
        let fm = FileManager.default
        do {
            try fm.createDirectory(at: destination, withIntermediateDirectories: true)
            for name in try fm.contentsOfDirectory(atPath: source).sorted() where !skipping.contains(name) {
                let from = URL(fileURLWithPath: source).appendingPathComponent(name).resolvingSymlinksInPath()
                guard (try fm.attributesOfItem(atPath: from.path)[.type] as? FileAttributeType) == .typeRegular else { continue }
                let to = destination.appendingPathComponent(name)
                try fm.copyItem(at: from, to: to)
                try fm.setAttributes([.posixPermissions: 0o644], ofItemAtPath: to.path)
            }
        } catch let e as ToolError {
            throw e
        } catch {
            throw ToolError("--init \(source): cannot copy the model directory: \(ErrorText.reason(error))")
        }
    }

    /// Checks the classes `labels` of an add-on file at `path` (a `task` file: sketch or profile) against the
    /// classifier labels in the `config.json` of `directory`. Throws one line naming the file when they differ or
    /// the config lists none.
    static func checkLabels(_ labels: [String], of path: String, in directory: String, task: String) throws {
        let configPath = URL(fileURLWithPath: directory).appendingPathComponent("config.json").path
        guard let data = FileManager.default.contents(atPath: configPath),
              let config = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
              let classifierLabels = config["labels"] as? [String] else {
            throw ToolError("\(path): the directory's config.json lists no classifier labels to check the \(task) against")
        }
        guard classifierLabels == labels else {
            throw ToolError("\(path): the \(task)'s classes (\(labels.joined(separator: ", "))) differ from the "
                          + "classifier's in config.json (\(classifierLabels.joined(separator: ", "))); rebuild it with "
                          + "`train --task \(task)`")
        }
    }
}
