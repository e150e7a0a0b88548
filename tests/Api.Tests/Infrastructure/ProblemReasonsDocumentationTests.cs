using System.Reflection;
using Api.Infrastructure;

namespace Api.Tests.Infrastructure;

/// <summary>README's reason table is checked against the codes the API answers with, so a client reading it can branch on every one.</summary>
public sealed class ProblemReasonsDocumentationTests
{
    [Fact]
    public void EveryReasonTheApiAnswersWithIsInTheReadmeTableWithItsStatusAndNoOtherIs()
    {
        var documented = ReadmeRows().Select(row => $"{row.Code} {row.Status}").Order(StringComparer.Ordinal).ToList();
        var answered = ProblemReasons.All.Select(reason => $"{reason.Code} {reason.Status}").Order(StringComparer.Ordinal).ToList();

        Assert.Equal(answered, documented);
    }

    [Fact]
    public void TheListOfReasonsHoldsEveryReasonDeclaredAndEachCodeOnce()
    {
        var declared = typeof(ProblemReasons).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(field => field.FieldType == typeof(ProblemReason))
            .Select(field => (ProblemReason)field.GetValue(null)!)
            .ToList();

        Assert.Equal(declared.Select(reason => reason.Code).Order(StringComparer.Ordinal), ProblemReasons.All.Select(reason => reason.Code).Order(StringComparer.Ordinal));
        Assert.Equal(ProblemReasons.All.Count, ProblemReasons.All.Select(reason => reason.Code).Distinct(StringComparer.Ordinal).Count());
    }

    private static List<(string Code, int Status)> ReadmeRows()
    {
        var lines = File.ReadAllLines(RepositoryFiles.PathOf("README.md"));
        var table = lines.SkipWhile(line => line != "| reason | status | when |").Skip(2).TakeWhile(line => line.StartsWith('|'));
        var rows = table
            .Select(line => line.Trim('|').Split('|').Select(cell => cell.Trim()).ToArray())
            .Select(cells => (cells[0].Trim('`'), int.Parse(cells[1], System.Globalization.CultureInfo.InvariantCulture)))
            .ToList();
        Assert.NotEmpty(rows);
        return rows;
    }
}
