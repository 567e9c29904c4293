"""Exit plans as data: per poor or near-poor household, who answers for the plan, its actions (support type,
programme project, amount, funding, who carries it out, when) and follow-up visits; and the lists of what is missing."""
