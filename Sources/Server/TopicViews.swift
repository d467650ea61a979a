import Foundation
import LatentCorpus
import LatentModels

/// A topic model's topics for people: JSON for the API, HTML with inline SVG for the web page
/// and for `latent report`. For LSI the singular-value spectrum as a plot and each topic's
/// top terms with their signed weights; for LDA each topic's most probable terms as bars.
/// Computed once; at most `maxTopics` topics are shown (the first, which for LSI are the
/// strongest).
public struct TopicViews: Sendable {
    public struct Topic: Sendable {
        public var number: Int
        public var terms: [(term: String, weight: Double)]
    }

    public let kind: String
    public let topicCount: Int
    public let singularValues: [Double]?
    public let topics: [Topic]
    public let json: String
    public let html: String

    public static let maxTopics = 100

    public init?(_ model: QueryPipeline.TopicModel?, vocabulary: Vocabulary?, terms: Int = 10) {
        switch model {
        case .lsi(let lsi): self.init(lsi: lsi, terms: terms)
        case .lda(let lda): self.init(lda: lda, terms: terms)
        case nil: return nil
        }
    }

    public init(lsi: LSIModel, terms: Int = 10) {
        let shown = min(lsi.topicCount, Self.maxTopics)
        let topics = (0..<shown).map { k in
            Topic(number: k, terms: ((try? lsi.topic(k, top: terms)) ?? []).map { ($0.term, $0.weight) })
        }
        self.init(kind: "lsi", topicCount: lsi.topicCount, singularValues: lsi.singularValues, topics: topics)
    }

    public init(lda: LDAModel, terms: Int = 10) {
        let shown = min(lda.topicCount, Self.maxTopics)
        let topics = (0..<shown).map { k in
            Topic(number: k, terms: lda.topicTerms(k, top: terms).map { (lda.vocabulary?[Int32($0.term)] ?? String($0.term), $0.probability) })
        }
        self.init(kind: "lda", topicCount: lda.topicCount, singularValues: nil, topics: topics)
    }

    init(kind: String, topicCount: Int, singularValues: [Double]?, topics: [Topic]) {
        self.kind = kind
        self.topicCount = topicCount
        self.singularValues = singularValues
        self.topics = topics
        json = Self.renderJSON(kind: kind, count: topicCount, singularValues: singularValues, topics: topics)
        html = Self.renderHTML(kind: kind, count: topicCount, singularValues: singularValues, topics: topics)
    }

    private static func renderJSON(kind: String, count: Int, singularValues: [Double]?, topics: [Topic]) -> String {
        let items = topics.map { topic in
            let terms = topic.terms.map { "{\"term\": \(DocumentVectorsWriter.jsonString($0.term)), \"weight\": \($0.weight)}" }
            return "{\"topic\": \(topic.number), \"terms\": [\(terms.joined(separator: ", "))]}"
        }
        let values = singularValues.map { "[" + $0.map { "\($0)" }.joined(separator: ", ") + "]" } ?? "null"
        return "{\"kind\": \"\(kind)\", \"topics_in_model\": \(count), \"singular_values\": \(values), \"topics\": [\(items.joined(separator: ", "))]}"
    }

    // MARK: HTML and SVG

    static func escape(_ text: String) -> String {
        var escaped = ""
        for character in text {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            default: escaped.append(character)
            }
        }
        return escaped
    }

    static func number(_ value: Double, _ digits: Int = 3) -> String { String(format: "%.\(digits)f", value) }

    private static func renderHTML(kind: String, count: Int, singularValues: [Double]?, topics: [Topic]) -> String {
        var html = ""
        let name = kind == "lsi" ? "LSI" : "LDA"
        html += "<p class=\"model-summary\">\(name) model, \(count) topics\(topics.count < count ? " (the first \(topics.count) shown)" : "").</p>\n"
        if let singularValues, !singularValues.isEmpty { html += spectrum(singularValues) }
        html += "<div class=\"topics\">\n"
        for topic in topics {
            let heading = kind == "lsi" && topic.number < (singularValues?.count ?? 0)
                ? "Topic \(topic.number) <span class=\"muted\">σ = \(number(singularValues?[topic.number] ?? 0))</span>"
                : "Topic \(topic.number)"
            html += "<figure class=\"topic\"><figcaption>\(heading)</figcaption>\n\(termBars(topic.terms, signed: kind == "lsi"))</figure>\n"
        }
        return html + "</div>\n"
    }

    /// The singular values as a line with points, on a linear axis from 0.
    static func spectrum(_ values: [Double]) -> String {
        let width = 640.0, height = 220.0, left = 56.0, bottom = 30.0, top = 12.0, right = 12.0
        let largest = max(values.max() ?? 1, 1e-300)
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        func x(_ i: Int) -> Double { left + (values.count == 1 ? plotWidth / 2 : Double(i) / Double(values.count - 1) * plotWidth) }
        func y(_ v: Double) -> Double { top + plotHeight * (1 - v / largest) }
        var svg = "<svg class=\"spectrum\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-label=\"singular values\">\n"
        svg += "<title>Singular values, largest first</title>\n"
        for fraction in [0.0, 0.25, 0.5, 0.75, 1.0] {
            let yy = y(largest * fraction)
            svg += "<line x1=\"\(number(left, 1))\" y1=\"\(number(yy, 1))\" x2=\"\(number(width - right, 1))\" y2=\"\(number(yy, 1))\" class=\"grid\"/>"
            svg += "<text x=\"\(number(left - 6, 1))\" y=\"\(number(yy + 4, 1))\" class=\"axis\" text-anchor=\"end\">\(number(largest * fraction, 2))</text>\n"
        }
        let points = values.indices.map { "\(number(x($0), 1)),\(number(y(values[$0]), 1))" }.joined(separator: " ")
        svg += "<polyline points=\"\(points)\" class=\"line\"/>\n"
        if values.count <= 100 {
            for i in values.indices { svg += "<circle cx=\"\(number(x(i), 1))\" cy=\"\(number(y(values[i]), 1))\" r=\"2.5\" class=\"point\"/>" }
        }
        svg += "\n<text x=\"\(number(left, 1))\" y=\"\(Int(height - 8))\" class=\"axis\">topic 0</text>"
        svg += "<text x=\"\(number(width - right, 1))\" y=\"\(Int(height - 8))\" class=\"axis\" text-anchor=\"end\">topic \(values.count - 1)</text>\n"
        return "<figure class=\"spectrum-figure\"><figcaption>Singular values</figcaption>\n" + svg + "</svg></figure>\n"
    }

    /// Horizontal bars of terms' weights; signed weights grow left or right from a middle line.
    static func termBars(_ terms: [(term: String, weight: Double)], signed: Bool) -> String {
        let rowHeight = 18.0, labelWidth = 110.0, barWidth = 180.0, valueWidth = 50.0
        let width = labelWidth + barWidth + valueWidth, height = rowHeight * Double(max(1, terms.count)) + 4
        let largest = max(terms.map { abs($0.weight) }.max() ?? 1, 1e-300)
        var svg = "<svg class=\"bars\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\">\n"
        let zero = signed ? labelWidth + barWidth / 2 : labelWidth
        let scale = signed ? barWidth / 2 / largest : barWidth / largest
        for (row, entry) in terms.enumerated() {
            let y = 2 + Double(row) * rowHeight
            let length = abs(entry.weight) * scale
            let start = entry.weight < 0 ? zero - length : zero
            let label = entry.term.count > 16 ? String(entry.term.prefix(15)) + "…" : entry.term
            svg += "<text x=\"\(number(labelWidth - 6, 1))\" y=\"\(number(y + 13, 1))\" text-anchor=\"end\" class=\"term\">\(escape(label))<title>\(escape(entry.term))</title></text>"
            svg += "<rect x=\"\(number(start, 1))\" y=\"\(number(y + 3, 1))\" width=\"\(number(max(length, 0.5), 1))\" height=\"\(number(rowHeight - 6, 1))\" class=\"\(entry.weight < 0 ? "negative" : "positive")\"/>"
            svg += "<text x=\"\(number(width - 2, 1))\" y=\"\(number(y + 13, 1))\" text-anchor=\"end\" class=\"value\">\(number(entry.weight))</text>\n"
        }
        if signed { svg += "<line x1=\"\(number(zero, 1))\" y1=\"0\" x2=\"\(number(zero, 1))\" y2=\"\(number(height, 1))\" class=\"zero\"/>\n" }
        return svg + "</svg>\n"
    }

    /// Styles of the views, shared by the web page and the report.
    public static let css = """
        .muted { color: #5b6470; font-weight: normal; }
        .model-summary { margin: 0.2em 0 0.8em; }
        .spectrum-figure { margin: 0 0 1em; max-width: 640px; }
        figure figcaption { font-weight: 600; margin-bottom: 0.3em; }
        svg .grid { stroke: #e3e6ea; stroke-width: 1; }
        svg .axis { font-size: 11px; fill: #5b6470; }
        svg .line { fill: none; stroke: #2563a8; stroke-width: 2; }
        svg .point { fill: #2563a8; }
        .topics { display: grid; grid-template-columns: repeat(auto-fill, minmax(330px, 1fr)); gap: 0.8em 1.2em; }
        .topic { margin: 0; padding: 0.5em 0.6em; border: 1px solid #e3e6ea; border-radius: 6px; background: #fff; }
        svg.bars { width: 100%; max-width: 340px; }
        svg .term { font-size: 12px; fill: #1d232b; }
        svg .value { font-size: 11px; fill: #5b6470; }
        svg .positive { fill: #2563a8; }
        svg .negative { fill: #d9822b; }
        svg .zero { stroke: #9aa3ad; stroke-width: 1; }
        """

    /// A self-contained HTML document of the views (`latent report`).
    public func reportDocument(title: String) -> String {
        """
        \(OutputKind.htmlReportFirstLine)
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(Self.escape(title))</title>
        <style>
        body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 1.5em auto; max-width: 1200px; padding: 0 1em; color: #1d232b; background: #f7f8fa; }
        h1 { font-size: 1.4em; }
        \(Self.css)
        </style></head>
        <body><h1>\(Self.escape(title))</h1>
        \(html)
        <p class="muted">Made by Latent.</p>
        </body></html>

        """
    }
}
