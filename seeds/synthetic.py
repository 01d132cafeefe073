"""Realistic synthetic bibliographic records, for the deduplication and import benchmarks.

`generate_records(n, seed=..., duplicate_fraction=...)` returns `n` record dicts. A share
of them (`duplicate_fraction`) are planted duplicates of other records, each carrying
`dup_of` (the index of its original) and the differences that separate exports of one
article from several databases: case, punctuation, a missing DOI or a DOI written as a
URL, an abbreviated journal name, accents stripped, initials instead of given names,
"123-9" for "123-129", British or American spelling, a missing abstract.

Titles come from a medical vocabulary, so many titles share most of their words. Some
records are near misses that are NOT duplicates: the same title by other authors in
another year, "Part I" and "Part II" of one paper, and errata of an article.
"""

from __future__ import annotations

import random
import unicodedata
from pathlib import Path

from reviewmgr.dedup.records import DedupRecord


def _words(text: str) -> list[str]:
    return text.split()


def _terms_list(text: str) -> list[str]:
    return [" ".join(term.split()) for term in text.split("|")]


SURNAMES = _words("""
Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez
Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris
Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill
Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Müller Schmidt
Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Koch Richter Klein Wolf Schröder
Neumann Schwarz Zimmermann Braun Krüger Hofmann Hartmann Lange Schmitt Werner Krause Meier
Lehmann García Fernández González Rodríguez López Martínez Sánchez Pérez Gómez Martín Jiménez
Ruiz Hernández Díaz Moreno Muñoz Álvarez Romero Alonso Gutiérrez Navarro Torres Domínguez
Vázquez Ramos Gil Ramírez Serrano Blanco Molina Morales Suárez Ortega Delgado Castro Ortiz
Rubio Marín Sanz Núñez Iglesias Medina Garrido Cortés Castillo Santos Lozano Guerrero Cano
Prieto Méndez Cruz Calvo Gallego Vidal León Márquez Herrera Peña Flores Cabrera Campos Vega
Fuentes Carrasco Diez Caballero Reyes Nieto Aguilar Pascual Santana Herrero Montero Lorenzo
Hidalgo Giménez Ibáñez Ferrer Durán Santiago Benítez Mora Vicente Vargas Arias Carmona Crespo
Román Pastor Soto Sáez Velasco Moya Soler Parra Esteban Bravo Gallardo Rojas Rossi Russo
Ferrari Esposito Bianchi Romano Colombo Ricci Marino Greco Bruno Gallo Conti Costa Giordano
Mancini Rizzo Lombardi Moretti Barbieri Fontana Santoro Mariani Rinaldi Caruso Ferrara Galli
Martini Leone Longo Gentile Martinelli Vitale Lombardo Serra Coppola DeSantis Dubois Durand
Lefèvre Moreau Laurent Simon Michel Leroy Roux David Bertrand Morel Fournier Girard Bonnet
Dupont Lambert Fontaine Rousseau Vincent Muller Faure André Mercier Blanc Guérin Boyer Garnier
Chevalier François Legrand Gauthier Perrin Robin Clément Morin Nicolas Henry Roussel Mathieu
Gautier Masson Marchand Duval Denis Dumont Marie Lemaire Noël Meyer Dufour Meunier Brun
Blanchard Giraud Joly Rivière Lucas Brunet Gaillard Barbier Arnaud Martinez Gérard Roche
Renard Schmitt Roy Leroux Colin Vidal Caron Picard Roger Fabre Aubert Lemoine Renaud Dumas
Lacroix Olivier Philippe Bourgeois Pierre Benoît Rey Leclerc Payet Rolland Leclercq Guillaume
Lecomte Lopez Jean Dupuy Guillot Hubert Berger Carpentier Sanchez Dupuis Moulin Louis Deschamps
Huet Vasseur Perez Boucher Fleury Royer Klein Jacquet Adam Paris Poirier Marty Aubry Guyot
Carré Charles Renault Charpentier Ménard Maillard Baron Bertin Bailly Hervé Schneider Fernandez
Le Gall Collet Léger Bouvier Julien Prévost Millet Perrot Daniel Le Roux Cousin Germain Breton
Besson Langlois Rémy Le Goff Pelletier Lévêque Perrier Leblanc Barré Lebrun Marchal Weber
Mallet Hamon Boulanger Jacob Monnier Michaud Rodriguez Guichard Gillet Étienne Grondin Poulain
Tessier Chevallier Collin Chauvin Da Silva Bouchet Gay Lemaître Bénard Maréchal Humbert Reynaud
Antoine Hoarau Perret Barthélemy Cordier Pichon Lejeune Gilbert Lamy Delaunay Pasquier Carlier
Laporte Østergaard Sørensen Jørgensen Kowalski Nowak Wiśniewski Wójcik Kowalczyk Kamiński
Lewandowski Zieliński Szymański Woźniak Dąbrowski Novák Svoboda Dvořák Černý Procházka
Kučera Veselý Horák Němec Marková Pokorný Šimić Horvat Kovačević Babić Jurić Knežević
Wang Li Zhang Liu Chen Yang Huang Zhao Wu Zhou Xu Sun Ma Zhu Hu Guo He Lin Gao Luo Zheng
Tanaka Suzuki Takahashi Watanabe Ito Yamamoto Nakamura Kobayashi Kato Yoshida Yamada Sasaki
Kim Park Choi Jung Kang Cho Yoon Jang Lim Han Oh Seo Shin Kwon Hwang Ahn Song Yoo Hong
Patel Shah Singh Kumar Sharma Gupta Reddy Rao Iyer Nair Menon Das Bose Chatterjee Banerjee
O'Brien O'Connor McCarthy Murphy Kelly Walsh Byrne Ryan O'Sullivan Doyle McDonald Fitzgerald
""")
GIVEN_NAMES = _words("""
James Mary John Patricia Robert Jennifer Michael Linda William Elizabeth David Barbara Richard
Susan Joseph Jessica Thomas Sarah Charles Karen Daniel Nancy Matthew Lisa Anthony Margaret
Mark Sandra Donald Ashley Steven Kimberly Paul Emily Andrew Donna Joshua Michelle Kenneth
Dorothy Kevin Carol Brian Amanda George Melissa Edward Deborah Ronald Stephanie Timothy
Rebecca Jason Sharon Jeffrey Laura Ryan Cynthia Jacob Kathleen Gary Amy Nicholas Shirley
Eric Angela Jonathan Helen Stephen Anna Larry Brenda Justin Pamela Scott Nicole Brandon
Emma Benjamin Samantha Samuel Katherine Gregory Christine Frank Debra Alexander Rachel
José María Ángel Lucía Jürgen Søren Zoë Björn Åsa Hélène Thérèse Renée Andrés Iñaki Tomás
François Gérard Céline Élodie Grégoire Jérôme Chloé Noémie Zoltán Łukasz Michał Paweł
Hiroshi Yuki Kenji Aiko Wei Jing Min Hao Jun Seo-yeon Ji-ho Priya Arjun Ananya Rohan
""")
JOURNALS = [
    ("Journal of Clinical Oncology", "J Clin Oncol"),
    ("New England Journal of Medicine", "N Engl J Med"),
    ("The Lancet", "Lancet"),
    ("The Lancet Oncology", "Lancet Oncol"),
    ("British Medical Journal", "BMJ"),
    ("Journal of the American Medical Association", "JAMA"),
    ("Annals of Internal Medicine", "Ann Intern Med"),
    ("American Journal of Respiratory and Critical Care Medicine", "Am J Respir Crit Care Med"),
    ("Clinical Infectious Diseases", "Clin Infect Dis"),
    ("Journal of Infectious Diseases", "J Infect Dis"),
    ("Diabetes Care", "Diabetes Care"),
    ("Diabetologia", "Diabetologia"),
    ("Diabetes, Obesity and Metabolism", "Diabetes Obes Metab"),
    ("Circulation", "Circulation"),
    ("European Heart Journal", "Eur Heart J"),
    ("Journal of the American College of Cardiology", "J Am Coll Cardiol"),
    ("Stroke", "Stroke"),
    ("Neurology", "Neurology"),
    ("Archives of Physical Medicine and Rehabilitation", "Arch Phys Med Rehabil"),
    ("Pediatrics", "Pediatrics"),
    ("Journal of Pediatrics", "J Pediatr"),
    ("Pediatric Nephrology", "Pediatr Nephrol"),
    ("Kidney International", "Kidney Int"),
    ("Journal of the American Society of Nephrology", "J Am Soc Nephrol"),
    ("American Journal of Kidney Diseases", "Am J Kidney Dis"),
    ("British Journal of Haematology", "Br J Haematol"),
    ("Blood", "Blood"),
    ("Thrombosis and Haemostasis", "Thromb Haemost"),
    ("International Journal of Cancer", "Int J Cancer"),
    ("Cancer Epidemiology, Biomarkers & Prevention", "Cancer Epidemiol Biomarkers Prev"),
    ("Obstetrics and Gynecology", "Obstet Gynecol"),
    ("American Journal of Obstetrics and Gynecology", "Am J Obstet Gynecol"),
    ("Journal of Lower Genital Tract Disease", "J Low Genit Tract Dis"),
    ("Chest", "Chest"),
    ("Thorax", "Thorax"),
    ("European Respiratory Journal", "Eur Respir J"),
    ("Annals of Thoracic Surgery", "Ann Thorac Surg"),
    ("Journal of Thoracic and Cardiovascular Surgery", "J Thorac Cardiovasc Surg"),
    ("Critical Care Medicine", "Crit Care Med"),
    ("Intensive Care Medicine", "Intensive Care Med"),
    ("Journal of Antimicrobial Chemotherapy", "J Antimicrob Chemother"),
    (
        "Proceedings of the National Academy of Sciences of the United States of America",
        "Proc Natl Acad Sci U S A",
    ),
    ("Journal of Neurology, Neurosurgery and Psychiatry", "J Neurol Neurosurg Psychiatry"),
    ("Brain Injury", "Brain Inj"),
    ("Clinical Rehabilitation", "Clin Rehabil"),
    ("Pain", "Pain"),
    ("Regional Anesthesia and Pain Medicine", "Reg Anesth Pain Med"),
    ("Journal of Pain Research", "J Pain Res"),
    ("Arthritis and Rheumatology", "Arthritis Rheumatol"),
    ("Osteoarthritis and Cartilage", "Osteoarthritis Cartilage"),
    ("American Journal of Sports Medicine", "Am J Sports Med"),
    ("Journal of Bone and Joint Surgery", "J Bone Joint Surg"),
    ("Cochrane Database of Systematic Reviews", "Cochrane Database Syst Rev"),
    ("PLoS One", "PLoS One"),
    ("BMC Medicine", "BMC Med"),
    ("Vaccine", "Vaccine"),
]
INTERVENTIONS = _terms_list("""
metformin|insulin glargine|liraglutide|empagliflozin|sitagliptin|atorvastatin|rosuvastatin
|aspirin|clopidogrel|ticagrelor|apixaban|rivaroxaban|warfarin|enoxaparin|alteplase
|tenecteplase|eculizumab|rituximab|tocilizumab|adalimumab|infliximab|methotrexate|prednisolone
|dexamethasone|hydrocortisone|amoxicillin|azithromycin|ceftriaxone|vancomycin|doxycycline
|oseltamivir|remdesivir|paclitaxel|cisplatin|carboplatin|gemcitabine|pembrolizumab|nivolumab
|bevacizumab|trastuzumab|tamoxifen|letrozole|platelet-rich plasma|hyaluronic acid injection
|corticosteroid injection|physiotherapy|exercise therapy|cognitive behavioural therapy
|mindfulness training|acupuncture|spinal manipulation|radiofrequency ablation|epidural steroid
injection|nerve block|gabapentin|pregabalin|duloxetine|amitriptyline|ketamine|lidocaine patch
|vitamin D supplementation|iron supplementation|omega-3 fatty acids|probiotics|low-dose aspirin
|intrapleural fibrinolysis|video-assisted thoracoscopic surgery|chest tube drainage
|noninvasive ventilation|high-flow nasal oxygen|prone positioning|early mobilisation
|robot-assisted gait training|constraint-induced movement therapy|transcranial magnetic
stimulation|telerehabilitation|HPV vaccination|HPV DNA testing|liquid-based cytology
|colposcopy|self-sampling|bariatric surgery|dietary counselling|smoking cessation support
""")
CONDITIONS = _terms_list("""
type 2 diabetes|type 1 diabetes|gestational diabetes|hypertension|heart failure|atrial
fibrillation|acute myocardial infarction|ischaemic stroke|haemorrhagic stroke|traumatic brain
injury|chronic low back pain|neuropathic pain|knee osteoarthritis|rheumatoid arthritis
|community-acquired pneumonia|sepsis|septic shock|acute respiratory distress syndrome|COPD
|asthma|pleural infection|malignant pleural effusion|empyema|tuberculosis|influenza|COVID-19
|chronic kidney disease|acute kidney injury|atypical haemolytic uraemic syndrome|paroxysmal
nocturnal haemoglobinuria|iron deficiency anaemia|venous thromboembolism|pulmonary embolism
|non-small cell lung cancer|breast cancer|colorectal cancer|cervical intraepithelial neoplasia
|cervical cancer|ovarian cancer|prostate cancer|melanoma|major depressive disorder|generalised
anxiety disorder|dementia|Parkinson's disease|multiple sclerosis|migraine|obesity|non-alcoholic
fatty liver disease|osteoporosis|hip fracture|rotator cuff tendinopathy|plantar fasciitis
|lateral epicondylitis|carpal tunnel syndrome|aphasia after stroke|unilateral spatial neglect
""")
POPULATIONS = _terms_list("""
adults|older adults|children|adolescents|infants|pregnant women|postmenopausal women|men
|women|nursing home residents|primary care patients|hospitalised patients|critically ill
patients|outpatients|athletes|veterans|kidney transplant recipients|people living with HIV
|smokers|healthy volunteers|patients undergoing surgery|low-income countries|rural
communities|ethnic minority groups
""")
OUTCOMES = _terms_list("""
mortality|all-cause mortality|cardiovascular events|glycaemic control|HbA1c|pain intensity
|functional outcome|quality of life|hospital readmission|length of stay|recurrence|relapse
|treatment failure|adverse events|bleeding complications|infection rates|cognitive function
|depressive symptoms|return to work|walking speed|balance|upper limb function|lung function
|exacerbations|renal function|progression-free survival|overall survival|detection rates
|screening uptake|cost-effectiveness|adherence|patient satisfaction
""")
DESIGNS = _terms_list("""
a randomised controlled trial|a multicentre randomised trial|a double-blind placebo-controlled
trial|a prospective cohort study|a retrospective cohort study|a case-control study|a
cross-sectional study|a systematic review and meta-analysis|a network meta-analysis|a pilot
study|a feasibility study|a pragmatic trial|a registry-based study|a population-based study
|a qualitative study|a cost-effectiveness analysis|results from a national registry|a
secondary analysis of a randomised trial
""")
BIOMARKERS = _terms_list("""
C-reactive protein|interleukin-6|tumour necrosis factor alpha|procalcitonin|troponin
|natriuretic peptide|D-dimer|ferritin|vitamin D|HbA1c|p16INK4a|Ki-67|complement factor H
|ADAMTS13 activity|cystatin C|albuminuria|serum lactate|neutrophil-to-lymphocyte ratio
|circulating tumour DNA|HPV16 viral load|platelet count|fibrinogen|interleukin-1 beta
""")
COUNTRIES = _terms_list("""
the United States|Canada|Brazil|Mexico|Argentina|the United Kingdom|Germany|France|Spain
|Italy|the Netherlands|Sweden|Denmark|Poland|Nigeria|Kenya|South Africa|India|China|Japan
|South Korea|Australia|New Zealand|Costa Rica
""")
TITLE_TEMPLATES = [
    "{intervention} versus {comparator} for {condition} in {population}: {design}",
    "Effect of {intervention} on {outcome} in {population} with {condition}",
    "{outcome} after {intervention} in {condition}: {design}",
    "Efficacy and safety of {intervention} in {population} with {condition}",
    "Long-term {outcome} of {intervention} for {condition}: {design}",
    "{intervention} for the prevention of {outcome} in {population}",
    "Predictors of {outcome} in {population} with {condition}",
    "Cost-effectiveness of {intervention} for {condition} in {country}",
    "The role of {biomarker} in {condition}: {design}",
    "{biomarker} as a predictor of {outcome} in {condition}",
    "Prevalence of {condition} among {population} in {country}",
    "Association between {biomarker} and {outcome} in {population} with {condition}",
    "{intervention} combined with {comparator} in {condition}: {design}",
    "Early versus delayed {intervention} in {population} with {condition}",
    "Trends in {outcome} among {population} with {condition} in {country}, {start}-{end}",
    "Comparison of {intervention} and {comparator} on {outcome} in {condition}",
]
SENTENCES = [
    "{condition} is a leading cause of morbidity and disability worldwide.",
    "Evidence on the effect of {intervention} on {outcome} remains inconsistent.",
    "We aimed to assess whether {intervention} improves {outcome} in {population}.",
    "Participants were recruited from {number} centres between {start} and {end}.",
    "The primary outcome was {outcome} at {number} months.",
    "Secondary outcomes included {outcome2}, {outcome3} and adverse events.",
    "A total of {count} participants were randomly assigned to {intervention} or {comparator}.",
    "Baseline characteristics were similar between groups.",
    "{intervention} reduced {outcome} compared with {comparator} (hazard ratio 0.{number}).",
    "No significant difference was observed in {outcome2} between the groups.",
    "Serious adverse events occurred in {number}% of participants.",
    "Subgroup analyses suggested a larger benefit in {population}.",
    "Levels of {biomarker} were associated with {outcome} after adjustment for confounders.",
    "Sensitivity analyses using multiple imputation gave consistent results.",
    "The certainty of the evidence was rated as moderate.",
    "Follow-up was completed by {number}% of participants.",
    "Costs were estimated from the perspective of the health-care payer.",
    "Data were analysed by intention to treat using mixed-effects models.",
    "These findings support the use of {intervention} in {condition}.",
    "Further trials in {population} with longer follow-up are warranted.",
]
KEYWORD_POOL = [
    "randomized controlled trial",
    "cohort studies",
    "meta-analysis",
    "prognosis",
    "risk factors",
    "treatment outcome",
    "quality of life",
    "mortality",
    "biomarkers",
    "cost-benefit analysis",
    "rehabilitation",
    "screening",
]
SPELLING = [
    ("randomised", "randomized"),
    ("haemo", "hemo"),
    ("anaemia", "anemia"),
    ("oedema", "edema"),
    ("tumour", "tumor"),
    ("behavioural", "behavioral"),
    ("mobilisation", "mobilization"),
    ("haemorrhagic", "hemorrhagic"),
    ("ischaemic", "ischemic"),
    ("glycaemic", "glycemic"),
    ("uraemic", "uremic"),
    ("multicentre", "multicenter"),
    ("counselling", "counseling"),
    ("generalised", "generalized"),
    ("hospitalised", "hospitalized"),
]


def _strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _sentence_case(text: str) -> str:
    return text[:1].upper() + text[1:]


class _Generator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.serial = 0
        self.sentence_pool = [
            self._fill(self.rng.choice(SENTENCES), self._terms()) for _ in range(600)
        ]

    def _terms(self) -> dict[str, str]:
        rng = self.rng
        start = rng.randint(1990, 2015)
        intervention, comparator = rng.sample(INTERVENTIONS, 2)
        outcome, outcome2, outcome3 = rng.sample(OUTCOMES, 3)
        return {
            "intervention": intervention,
            "comparator": rng.choice([comparator, "placebo", "usual care", "standard care"]),
            "condition": rng.choice(CONDITIONS),
            "population": rng.choice(POPULATIONS),
            "outcome": outcome,
            "outcome2": outcome2,
            "outcome3": outcome3,
            "design": rng.choice(DESIGNS),
            "biomarker": rng.choice(BIOMARKERS),
            "country": rng.choice(COUNTRIES),
            "start": str(start),
            "end": str(start + rng.randint(2, 8)),
            "number": str(rng.randint(2, 60)),
            "count": str(rng.randint(40, 4000)),
        }

    @staticmethod
    def _fill(template: str, terms: dict[str, str]) -> str:
        return _sentence_case(template.format(**terms))

    def _authors(self) -> list[str]:
        rng = self.rng
        names = []
        for _ in range(rng.randint(5, 10)):
            given = rng.choice(GIVEN_NAMES)
            if rng.random() < 0.5:
                given += f" {rng.choice('ABCDEFGHJKLMNPRSTW')}."
            names.append(f"{rng.choice(SURNAMES)}, {given}")
        return names

    def _doi(self, journal_index: int, year: int) -> str:
        self.serial += 1
        return f"10.{1000 + journal_index * 7}/j{journal_index:02d}.{year}.{self.serial:06d}"

    def _pages(self, length: tuple[int, int] = (4, 14)) -> str:
        first = self.rng.randint(1, 2900)
        return f"{first}-{first + self.rng.randint(*length)}"

    def original(self, used_titles: set[str]) -> dict:
        rng = self.rng
        while True:
            terms = self._terms()
            title = self._fill(rng.choice(TITLE_TEMPLATES), terms)
            if title not in used_titles:
                used_titles.add(title)
                break
        journal_index = rng.randrange(len(JOURNALS))
        year = rng.randint(1995, 2024)
        sentences = [
            self._fill(SENTENCES[0], terms),
            self._fill(SENTENCES[2], terms),
            *rng.sample(self.sentence_pool, 15),
            self._fill(SENTENCES[18], terms),
        ]
        return {
            "title": title,
            "abstract": " ".join(sentences),
            "authors": self._authors(),
            "year": year,
            "journal": JOURNALS[journal_index][0],
            "volume": str(rng.randint(1, 400)),
            "issue": str(rng.randint(1, 24)),
            "pages": self._pages(),
            "doi": self._doi(journal_index, year),
            "keywords": rng.sample(KEYWORD_POOL, rng.randint(3, 6)),
        }

    # ---- near misses: distinct works that look alike

    def same_title_elsewhere(self, source: dict) -> dict:
        rng = self.rng
        journal_index = rng.randrange(len(JOURNALS))
        year = source["year"] + rng.choice([-6, -4, -3, -2, 2, 3, 5])
        record = self.original(set())
        record.update(
            title=source["title"],
            year=year,
            journal=JOURNALS[journal_index][0],
            doi=self._doi(journal_index, year),
        )
        return record

    def part_two(self, source: dict) -> dict:
        """Turn `source` into "Part I" and return its "Part II"."""
        rng = self.rng
        base = source["title"]
        style = rng.choice(["roman", "arabic", "word"])
        labels = {
            "roman": ("Part I", "Part II"),
            "arabic": ("part 1", "part 2"),
            "word": ("Part One", "Part Two"),
        }[style]
        source["title"] = f"{base}: {labels[0]}"
        first, last = (int(p) for p in source["pages"].split("-"))
        second_first = last + 1
        journal_index = next(i for i, j in enumerate(JOURNALS) if j[0] == source["journal"])
        return {
            **source,
            "title": f"{base}: {labels[1]}",
            "abstract": " ".join(rng.sample(self.sentence_pool, 11)),
            "pages": f"{second_first}-{second_first + rng.randint(4, 12)}",
            "doi": self._doi(journal_index, source["year"]),
        }

    def erratum(self, source: dict) -> dict:
        rng = self.rng
        prefix = rng.choice(["Erratum: ", "Correction to: ", "Corrigendum to ", "Erratum to "])
        year = source["year"] + rng.choice([0, 0, 1])
        page = rng.randint(1, 3000)
        journal_index = next(i for i, j in enumerate(JOURNALS) if j[0] == source["journal"])
        return {
            "title": prefix + source["title"],
            "abstract": "" if rng.random() < 0.6 else f"This corrects the article {source['doi']}.",
            "authors": source["authors"][:1] if rng.random() < 0.5 else list(source["authors"]),
            "year": year,
            "journal": source["journal"],
            "volume": str(int(source["volume"]) + (year - source["year"])),
            "issue": str(rng.randint(1, 24)),
            "pages": str(page),
            "doi": self._doi(journal_index, year),
            "keywords": [],
        }

    # ---- planted duplicates

    def duplicate(self, source: dict) -> dict:
        rng = self.rng
        record = {
            **source,
            "authors": list(source["authors"]),
            "keywords": list(source["keywords"]),
        }
        title = record["title"]
        roll = rng.random()
        if roll < 0.12:
            title = title.lower()
        elif roll < 0.2:
            title = title.upper()
        elif roll < 0.35:
            title = title.title()
        if rng.random() < 0.4:
            title = title + "." if not title.endswith(".") else title[:-1]
        if rng.random() < 0.25:
            title = title.replace(": ", " - ", 1)
        if rng.random() < 0.2:
            british, american = rng.choice(SPELLING)
            title = (
                title.replace(american, british)
                if rng.random() < 0.5
                else title.replace(british, american)
            )
        record["title"] = title
        roll = rng.random()
        if roll < 0.3:
            record["doi"] = ""
        elif roll < 0.55:
            record["doi"] = "https://doi.org/" + record["doi"]
        elif roll < 0.6:
            record["doi"] = "doi:" + record["doi"].upper()
        if rng.random() < 0.5:
            record["journal"] = next(a for f, a in JOURNALS if f == record["journal"])
        if rng.random() < 0.4:
            record["authors"] = [_strip_accents(a) for a in record["authors"]]
        if rng.random() < 0.5:
            record["authors"] = [self._initials(a) for a in record["authors"]]
        if "-" in record["pages"] and rng.random() < 0.4:
            first, last = record["pages"].split("-")
            common = 0
            while common < len(first) - 1 and first[common] == last[common]:
                common += 1
            record["pages"] = f"{first}-{last[common:]}"
        if rng.random() < 0.2:
            record["abstract"] = ""
        if rng.random() < 0.15:
            record["issue"] = ""
        if rng.random() < 0.3:
            record["keywords"] = []
        return record

    @staticmethod
    def _initials(name: str) -> str:
        surname, _, given = name.partition(", ")
        initials = " ".join(f"{part[0]}." for part in given.replace(".", "").split())
        return f"{surname}, {initials}"


def generate_records(n: int, *, seed: int = 0, duplicate_fraction: float = 0.0) -> list[dict]:
    """`n` records, of which `duplicate_fraction` are planted duplicates (key `dup_of`).

    Deterministic for a given seed. About 4% of the distinct works are near misses of
    another record (same title in another year by other authors, Part I / Part II, an
    erratum); they carry no `dup_of`.
    """
    generator = _Generator(seed)
    rng = generator.rng
    duplicates = round(n * duplicate_fraction)
    distinct = n - duplicates
    used_titles: set[str] = set()
    works: list[dict] = []
    while len(works) < distinct:
        roll = rng.random()
        if works and roll < 0.015:
            works.append(generator.same_title_elsewhere(rng.choice(works)))
        elif works and roll < 0.03 and len(works) + 1 < distinct:
            source = rng.choice(works)
            if "-" in source["pages"] and "part" not in source["title"].lower():
                works.append(generator.part_two(source))
        elif works and roll < 0.04:
            works.append(generator.erratum(rng.choice(works)))
        else:
            works.append(generator.original(used_titles))
    planted = []
    for _ in range(duplicates):
        source_index = rng.randrange(distinct)
        planted.append((source_index, generator.duplicate(works[source_index])))

    order = list(range(n))
    rng.shuffle(order)
    position = {old: new for new, old in enumerate(order)}
    records: list[dict] = [{}] * n
    for index, work in enumerate(works):
        records[position[index]] = work
    for offset, (source_index, record) in enumerate(planted):
        record["dup_of"] = position[source_index]
        records[position[distinct + offset]] = record
    return records


def write_ris(records: list[dict], path: str | Path) -> None:
    """Write `records` (as from generate_records) as a RIS file."""
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        for record in records:
            lines = ["TY  - JOUR", f"TI  - {record['title']}"]
            lines += [f"AU  - {author}" for author in record.get("authors", [])]
            if record.get("year"):
                lines.append(f"PY  - {record['year']}")
            for tag, key in (("T2", "journal"), ("VL", "volume"), ("IS", "issue")):
                if record.get(key):
                    lines.append(f"{tag}  - {record[key]}")
            if record.get("pages"):
                first, _, last = str(record["pages"]).partition("-")
                lines.append(f"SP  - {first}")
                if last:
                    lines.append(f"EP  - {last}")
            if record.get("doi"):
                lines.append(f"DO  - {record['doi']}")
            if record.get("abstract"):
                lines.append(f"AB  - {record['abstract']}")
            lines += [f"KW  - {keyword}" for keyword in record.get("keywords", [])]
            lines.append("ER  - ")
            handle.write("\n".join(lines) + "\n\n")


def dedup_records(rows: list[dict]) -> list[DedupRecord]:
    """These records as the duplicate engine takes them, ids from 1."""
    return [
        DedupRecord(
            id=index + 1,
            title=row["title"],
            authors=tuple(row["authors"]),
            year=row["year"],
            journal=row["journal"],
            volume=row["volume"],
            issue=row["issue"],
            pages=row["pages"],
            doi=row["doi"],
            abstract=row["abstract"],
        )
        for index, row in enumerate(rows)
    ]
